package subject

// Cancel returns the subject on which a gateway tells the workers of
// function that invocation id was cancelled while an attempt of it runs:
// fngate.cancel.<function>.<id>. Core NATS, not JetStream: only a worker
// running the attempt at that moment has anything to stop, and one that
// misses it finds the cancel in the record before any further attempt.
func Cancel(function, id string) (string, error) {
	if !ValidInvocationID(id) {
		return "", ErrInvalidFunction
	}
	s, err := functionName(Prefix+".cancel.", function)
	return s + "." + id, err
}

// CancelAll is the subscription of a worker serving function to its
// cancels: fngate.cancel.<function>.*.
func CancelAll(function string) (string, error) {
	s, err := functionName(Prefix+".cancel.", function)
	return s + ".*", err
}
