package subject

import "errors"

// Subjects of a streamed response (#17). A worker whose function streams
// names the stream with an id of its own (a NUID) in its first reply; the
// chunks then travel on fngate.stream.<id>.data to the gateway that
// called, and the gateway's credits (and its cancel) on
// fngate.stream.<id>.credit back to the worker. Core NATS: a stream lives
// only as long as the two ends that hold it.

// ErrInvalidStream reports a stream id that is not a NUID-like token.
var ErrInvalidStream = errors.New("invalid stream id")

// ValidStreamID reports whether id is 1-64 characters of [A-Za-z0-9]: a
// NUID, never a subject wildcard or separator.
func ValidStreamID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// StreamData is the subject the chunks of stream id travel on, worker to
// gateway.
func StreamData(id string) (string, error) {
	if !ValidStreamID(id) {
		return "", ErrInvalidStream
	}
	return Prefix + ".stream." + id + ".data", nil
}

// StreamCredit is the subject of the credits (and the cancel) of stream
// id, gateway to worker.
func StreamCredit(id string) (string, error) {
	if !ValidStreamID(id) {
		return "", ErrInvalidStream
	}
	return Prefix + ".stream." + id + ".credit", nil
}
