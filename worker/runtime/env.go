package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ConfigFile is the optional file of per-function settings in a function's
// folder:
//
//	{"env": {"API_BASE": "https://api.example.com", "GREETING": "hi"}}
//
// Its env variables are added to the function's environment (they win over
// the worker's). Unknown keys, names that are not [A-Za-z_][A-Za-z0-9_]*,
// names starting with FNGATE_ (fngate's own), values that are not strings or
// hold a NUL, and trailing data are refused: the function then fails to load
// (FUNCTION_LOAD_ERROR, logged) and the other functions are unaffected. The
// file is read each time a process of the function starts; an edit replaces
// the function's processes.
const ConfigFile = "fngate.json"

// maxConfigFile bounds what is read of ConfigFile.
const maxConfigFile = 64 << 10

// BaseEnv lists the variables of the worker's environment every function
// gets, besides those named in Config.PassEnv and those starting with its
// language's prefix (NODE_, PYTHON); a name ending in * is a prefix.
var BaseEnv = []string{"PATH", "HOME", "LANG", "TZ"}

// functionConfig is what ConfigFile holds.
type functionConfig struct {
	Env map[string]string `json:"env"`
	// Runtime pins the function's language ("node", "python"); by default
	// it is chosen by the entry file present (index.js or index.mjs: node,
	// index.py: python).
	Runtime string `json:"runtime"`
}

// configError is a ConfigFile that cannot be used.
type configError struct{ err error }

func (e *configError) Error() string {
	if errors.Is(e.err, errNoEntry) {
		return e.err.Error()
	}
	return ConfigFile + ": " + e.err.Error()
}
func (e *configError) Unwrap() error { return e.err }

// readConfig reads the ConfigFile of the function in dir; a missing file is
// an empty configuration. raw is the file as read, to notice edits.
func readConfig(dir string) (cfg functionConfig, raw []byte, err error) {
	f, err := os.Open(filepath.Join(dir, ConfigFile))
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil, nil
	}
	if err != nil {
		return cfg, nil, &configError{err}
	}
	defer f.Close()
	raw, err = io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return cfg, nil, &configError{err}
	}
	if len(raw) > maxConfigFile {
		return cfg, raw, &configError{fmt.Errorf("larger than %d bytes", maxConfigFile)}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, raw, &configError{err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return cfg, raw, &configError{errors.New("trailing data after the JSON object")}
	}
	if cfg.Runtime != "" && languageNamed(cfg.Runtime) == nil {
		return cfg, raw, &configError{fmt.Errorf("runtime %q: want node or python", cfg.Runtime)}
	}
	for k, v := range cfg.Env {
		if err := checkEnvName(k); err != nil {
			return cfg, raw, &configError{fmt.Errorf("env: %w", err)}
		}
		if strings.IndexByte(v, 0) >= 0 {
			return cfg, raw, &configError{fmt.Errorf("env: %s holds a NUL byte", k)}
		}
	}
	return cfg, raw, nil
}

// checkEnvName accepts the names a function may be given: portable shell
// names, none of fngate's own.
func checkEnvName(name string) error {
	if name == "" {
		return errors.New("empty variable name")
	}
	for i, c := range name {
		ok := c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			return fmt.Errorf("%q is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", name)
		}
	}
	if strings.HasPrefix(name, "FNGATE_") {
		return fmt.Errorf("%s: FNGATE_* names are reserved for fngate's settings", name)
	}
	return nil
}

// allowed reports whether the worker's variable name passes to functions.
func allowed(name, prefix string, pass []string) bool {
	if prefix != "" && strings.HasPrefix(name, prefix) {
		return true
	}
	for _, a := range BaseEnv {
		if p, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(name, p) || a == name {
			return true
		}
	}
	return slices.Contains(pass, name)
}

// functionEnv is the environment of a process of a function: the allowed
// variables of base, then home as HOME when set, then the function's own
// variables. Nothing else of the worker's environment (its credentials)
// reaches the function.
func functionEnv(base, pass []string, prefix, home string, own map[string]string) []string {
	vars := map[string]string{}
	for _, kv := range base {
		k, v, ok := strings.Cut(kv, "=")
		if ok && allowed(k, prefix, pass) {
			vars[k] = v
		}
	}
	if home != "" {
		vars["HOME"] = home
	}
	for k, v := range own {
		vars[k] = v
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env
}

// ParseUID parses FNGATE_FUNCTION_UID: "" (functions run as the worker's
// user), "N" (every function runs as uid N, gid N) or "N+" (the functions,
// in name order, run as N, N+1, ...: one user each).
func ParseUID(s string) (uid int, perFunction bool, err error) {
	if s == "" {
		return 0, false, nil
	}
	num, perFunction := strings.CutSuffix(s, "+")
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > maxUID {
		return 0, false, fmt.Errorf("%q: want a uid from 1 to %d, or a base uid followed by + (one uid per function)", s, maxUID)
	}
	return n, perFunction, nil
}

// maxUID keeps uid+functions clear of (uid_t)-1 and of overflow.
const maxUID = 1<<31 - 1<<20
