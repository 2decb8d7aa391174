package subject

import (
	"errors"
	"fmt"
)

// Prefix is the first token of every subject fngate publishes.
const Prefix = "fngate"

// MaxFunctionLen is the longest function name accepted.
const MaxFunctionLen = 64

// ErrInvalidFunction reports a function name outside [a-z0-9][a-z0-9_-]{0,63}.
var ErrInvalidFunction = errors.New("invalid function name")

// ValidFunction reports whether name matches [a-z0-9][a-z0-9_-]{0,63}.
func ValidFunction(name string) bool {
	if len(name) == 0 || len(name) > MaxFunctionLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// functionName is prefix+function once function is a valid name: every
// subject and name built from a function goes through here.
func functionName(prefix, function string) (string, error) {
	if !ValidFunction(function) {
		return "", fmt.Errorf("%w: %q", ErrInvalidFunction, function)
	}
	return prefix + function, nil
}

// Invoke returns the subject on which function is invoked synchronously.
func Invoke(function string) (string, error) {
	return functionName(Prefix+".invoke.", function)
}

// QueueGroup returns the queue group that every worker serving function joins,
// so that N workers share its invocations with no coordination.
func QueueGroup(function string) (string, error) {
	return functionName(Prefix+"-", function)
}

// Heartbeat is the subject on which workers announce, every few seconds,
// the functions they serve and their load; gateways aggregate them.
const Heartbeat = Prefix + ".workers.heartbeat"

// GatewayStats is the subject every gateway answers (no queue group) with
// its request counts by route, so that one gateway can gather all of them.
const GatewayStats = Prefix + ".gateways.stats"
