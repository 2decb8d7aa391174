package store

// Every Redis key and channel fngate uses for routes is built here.
const (
	keyRoutes        = "{fngate}:routes"
	keyRoutesVersion = "{fngate}:routes:version"
	// ChannelRoutes is the pub/sub channel on which each new version number
	// is published after a change.
	ChannelRoutes = "fngate:routes:changed"
)
