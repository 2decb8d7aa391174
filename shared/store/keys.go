package store

// Every Redis key and channel fngate uses for routes is built here.
const (
	keyRoutes        = "{fngate}:routes"
	keyRoutesVersion = "{fngate}:routes:version"
	// ChannelRoutes is the pub/sub channel on which each new version number
	// is published after a change.
	ChannelRoutes = "fngate:routes:changed"
)

// Invocation record keys. The keys of one invocation share the hash tag
// {<id>}, so scripts that touch a record and its event stay in one Cluster
// slot; the indexes share {fngate}.
func keyInvocation(id string) string       { return "fngate:inv:{" + id + "}" }
func keyInvocationEvent(id string) string  { return "fngate:inv:{" + id + "}:event" }
func keyInvocationErrors(id string) string { return "fngate:inv:{" + id + "}:errors" }

const keyInvocationsByTime = "{fngate}:inv:by-time"

func keyInvocationsByFunction(fn string) string { return "{fngate}:inv:by-fn:" + fn }
