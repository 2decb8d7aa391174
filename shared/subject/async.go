package subject

// JetStream names for asynchronous invocations. They are stable and
// documented so that operators and autoscalers (KEDA's NATS JetStream
// scaler reads lag per stream and consumer) can rely on them.
const (
	// StreamInvocations holds queued asynchronous invocations, one subject
	// per function (see [Async]); work-queue retention removes a message
	// once a worker acknowledges it.
	StreamInvocations = "FNGATE_INVOCATIONS"
	// StreamDead holds dead letters: invocations that used every attempt.
	StreamDead = "FNGATE_DEAD"
)

// Async returns the JetStream subject of function's queued invocations.
func Async(function string) (string, error) {
	return functionName(Prefix+".async.", function)
}

// Dead returns the subject of function's dead letters.
func Dead(function string) (string, error) {
	return functionName(Prefix+".dead.", function)
}

// Consumer returns the name of the durable pull consumer through which
// workers take function's queued invocations.
func Consumer(function string) (string, error) {
	return functionName(Prefix+"-", function)
}

// Subjects bound to the streams.
const (
	asyncWildcard = Prefix + ".async.>"
	deadWildcard  = Prefix + ".dead.>"
)

// AsyncAll and DeadAll are the subject filters of the two streams.
func AsyncAll() string { return asyncWildcard }

// DeadAll is the subject filter of the dead-letter stream.
func DeadAll() string { return deadWildcard }
