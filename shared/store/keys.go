package store

// Every Redis key and channel fngate uses for routes is built here.
const (
	keyRoutes        = "{fngate}:routes"
	keyRoutesVersion = "{fngate}:routes:version"
	// keyRoutesEpoch names the life of the table: set (from Redis' clock)
	// by the write that creates the version key, so a table written anew
	// after Redis lost its data has another epoch even at a version a
	// gateway already served.
	keyRoutesEpoch = "{fngate}:routes:epoch"
	// keyRoutesFile is a hash: the digest of the routes file applied last
	// and the table version right after it was.
	keyRoutesFile = "{fngate}:routes:file"
	// ChannelRoutes is the pub/sub channel on which each new version number
	// is published after a change.
	ChannelRoutes = "fngate:routes:changed"
)

// Invocation record keys. A record is one hash (its event is a field of
// it); its attempt errors are a list beside it. The keys of one invocation
// share the hash tag {<id>}, so scripts that touch both stay in one Cluster
// slot; the indexes share {fngate}.
func keyInvocation(id string) string       { return "fngate:inv:{" + id + "}" }
func keyInvocationErrors(id string) string { return "fngate:inv:{" + id + "}:errors" }

const keyInvocationsByTime = "{fngate}:inv:by-time"

func keyInvocationsByFunction(fn string) string { return "{fngate}:inv:by-fn:" + fn }

// keyIdempotency is the claim of one idempotency key on one route; scope
// is a digest of the key and, when the route asks, the caller's identity.
func keyIdempotency(routeID, scope string) string {
	return "fngate:idem:{" + routeID + ":" + scope + "}"
}

// keyFunctions holds every function's settings: a hash of name to JSON.
const keyFunctions = "{fngate}:functions"
