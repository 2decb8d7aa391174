package runtime

import "github.com/fngate/fngate/shared/envflag"

// Bind binds the runtime's settings to their FNGATE_* flags and variables
// (the worker binary's; the uid is parsed by ParseUID).
func (c *Config) Bind(s *envflag.Set) {
	s.String(&c.Dir, "functions", "FNGATE_FUNCTIONS_DIR", "", "folder of functions, <dir>/<name>/index.js, index.mjs or index.py; empty serves none")
	s.String(&c.Node, "node", "FNGATE_NODE", DefaultNode, "node binary (Node.js 18 or newer)")
	s.String(&c.Python, "python", "FNGATE_PYTHON", DefaultPython, "python binary (Python 3.9 or newer) of functions with an index.py")
	s.Int(&c.Procs, "node-procs", "FNGATE_NODE_PROCS", DefaultProcs, "long-lived Node processes per function")
	s.Int(&c.MaxOldSpaceMB, "node-max-old-space-mb", "FNGATE_NODE_MAX_OLD_SPACE_MB", DefaultMaxOldSpaceMB, "memory limit of each Node process (--max-old-space-size)")
	s.Duration(&c.ProbeGrace, "node-probe-grace", "FNGATE_NODE_PROBE_GRACE", DefaultProbeGrace, "after a Node call times out, how long its process may take to answer a ping before it is deemed blocked and replaced")
	s.Duration(&c.ReloadInterval, "node-reload-interval", "FNGATE_NODE_RELOAD_INTERVAL", DefaultReloadInterval, "how often function files are checked for edits")
	s.Duration(&c.IdleTimeout, "idle-timeout", "FNGATE_IDLE_TIMEOUT", DefaultIdleTimeout, "stop a function's processes after this long without calls (negative: never); its next call starts them again")
	s.Int(&c.MaxProcs, "max-procs", "FNGATE_MAX_PROCS", DefaultMaxProcs, "processes of all functions together; a function starting beyond it stops the least recently used idle one (negative: no bound)")
	s.List(&c.PassEnv, "function-env", "FNGATE_FUNCTION_ENV", nil, "names of further variables of the worker's environment that Node.js functions get (they always get PATH, HOME, LANG, TZ, NODE_*)")
}
