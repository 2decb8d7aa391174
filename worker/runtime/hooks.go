package runtime

import "time"

// hooks let the package's tests watch and hurry a Runtime without counters
// in the production types; Config.hooks is nil outside them (export_test.go
// builds one).
type hooks struct {
	loadTimeout time.Duration                  // replaces defaultLoadTimeout when > 0
	spawned     func(function string, pid int) // a process started
	pinged      func(pid int)                  // a probe sent a ping
}

// loadTimeout is how long a process may take to load its function.
func (c Config) loadTimeout() time.Duration {
	if c.hooks != nil && c.hooks.loadTimeout > 0 {
		return c.hooks.loadTimeout
	}
	return defaultLoadTimeout
}
