package runtime

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Language is what the supervised process pool needs to know of one
// language: how to recognise its functions, check its interpreter and start
// a process that speaks the frame protocol (frame.go) on fd 3 and 4. Every
// other behaviour (restarts with backoff, timeouts and the probe, reloads,
// log capture, the environment allowlist, metrics) is the pool's and the
// same for each language. A new language is one more implementation and its
// bootstrap, added to languages.
type Language interface {
	// Name labels the function's metrics and logs ("node", "python"), and
	// is what a function's ConfigFile pins as its "runtime".
	Name() string
	// Entry returns the file of the function in dir this language loads,
	// or "" when dir holds none.
	Entry(dir string) string
	// Check runs the interpreter to see it is there and new enough, and
	// returns its version.
	Check(ctx context.Context, c Config) (string, error)
	// Command returns the process of function name in dir. Its settings
	// travel as arguments the bootstrap removes, so that the environment is
	// the function's alone.
	Command(c Config, name, dir string) *exec.Cmd
	// EnvPrefix is the prefix of the worker's variables the language's
	// processes also get (NODE_, PYTHON), besides BaseEnv.
	EnvPrefix() string
}

// Runtime names, as Language.Name returns them and a ConfigFile pins them.
const (
	RuntimeNode   = "node"
	RuntimePython = "python"
)

// languages are the languages a runtime serves, tried in this order when a
// function does not pin one.
var languages = []Language{nodeLang{}, pythonLang{}}

// languageNamed returns the language called name, or nil.
func languageNamed(name string) Language {
	for _, l := range languages {
		if l.Name() == name {
			return l
		}
	}
	return nil
}

// detect returns the language of the function in dir: the one its
// ConfigFile pins, or else the first whose entry file is there.
func detect(dir string) (Language, error) {
	fc, _, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	if fc.Runtime != "" {
		return languageNamed(fc.Runtime), nil // readConfig checked the name
	}
	for _, l := range languages {
		if l.Entry(dir) != "" {
			return l, nil
		}
	}
	return nil, errNoEntry
}

var errNoEntry = errors.New("no index.js, index.mjs or index.py")

// exists reports whether file is there.
func exists(file string) bool {
	_, err := os.Stat(file)
	return err == nil
}

//go:embed bootstrap.js
var bootstrap string

//go:embed bootstrap.py
var bootstrapPy string

// MinNodeMajor is the oldest Node.js major version the runtime accepts.
const MinNodeMajor = 18

// MinPythonMinor is the oldest Python 3 minor version the runtime accepts
// (3.9: Debian 11's).
const MinPythonMinor = 9

// nodeLang runs index.js (CommonJS, or an ES module when the function's
// package.json says "type": "module") and index.mjs.
type nodeLang struct{}

func (nodeLang) Name() string      { return RuntimeNode }
func (nodeLang) EnvPrefix() string { return "NODE_" }

func (nodeLang) Entry(dir string) string {
	for _, f := range []string{"index.js", "index.mjs"} {
		if exists(filepath.Join(dir, f)) {
			return f
		}
	}
	return ""
}

func (nodeLang) Check(ctx context.Context, c Config) (string, error) {
	return checkVersion(ctx, "node", c.Node, "v", "install Node.js 18+ (apt-get install nodejs)",
		func(n []int) bool { return n[0] >= MinNodeMajor })
}

// checkVersion runs bin --version, takes prefix off what it printed and
// reports it too old unless new(its numbers) holds.
func checkVersion(ctx context.Context, lang, bin, prefix, install string, new func(n []int) bool) (string, error) {
	v, err := interpreterVersion(ctx, lang, bin, install)
	if err != nil {
		return "", err
	}
	n := versionNumbers(strings.TrimPrefix(v, prefix))
	if len(n) < 2 {
		return "", fmt.Errorf("%s: %s --version printed %q, not a version", lang, bin, v)
	}
	if !new(n) {
		return "", fmt.Errorf("%s: %s is %s, too old: %s", lang, bin, v, install)
	}
	return v, nil
}

// interpreterVersion runs bin --version and returns what it printed.
func interpreterVersion(ctx context.Context, lang, bin, install string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s not found: %s: %w", lang, install, err)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %s --version: %w", lang, bin, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// versionNumbers returns the leading numbers of a version, "3.11.2" → 3 11 2.
func versionNumbers(v string) []int {
	var n []int
	for _, part := range strings.Split(v, ".") {
		i, err := strconv.Atoi(part)
		if err != nil {
			break
		}
		n = append(n, i)
	}
	return n
}

func (l nodeLang) Command(c Config, name, dir string) *exec.Cmd {
	mb := strconv.Itoa(c.MaxOldSpaceMB)
	return exec.Command(c.Node,
		"--max-old-space-size="+mb,
		"--title=fngate-node:"+name,
		"-e", bootstrap,
		dir, name, mb, l.Entry(dir))
}

// pythonLang runs index.py with Debian's python3.
type pythonLang struct{}

func (pythonLang) Name() string      { return RuntimePython }
func (pythonLang) EnvPrefix() string { return "PYTHON" }

func (pythonLang) Entry(dir string) string {
	if exists(filepath.Join(dir, "index.py")) {
		return "index.py"
	}
	return ""
}

func (pythonLang) Check(ctx context.Context, c Config) (string, error) {
	return checkVersion(ctx, "python", c.Python, "Python ", "install Python 3.9+ (apt-get install python3)",
		func(n []int) bool { return n[0] == 3 && n[1] >= MinPythonMinor })
}

func (pythonLang) Command(c Config, name, dir string) *exec.Cmd {
	// -u: unbuffered, so print reaches the log at once; -I would drop the
	// function's folder from sys.path, which the bootstrap puts first.
	return exec.Command(c.Python, "-u", "-c", bootstrapPy, dir, name, strconv.Itoa(c.MaxOldSpaceMB))
}
