// Package envflag binds command-line flags to FNGATE_* environment
// variables: each setting has a flag and a variable of the same meaning, the
// flag winning over the variable and the variable over the default.
//
// Usage output (-h) shows the value taken from the environment as a flag's
// default, so it never shows a secret: a flag bound with Secret shows
// "xxxxx" when set, and credentials in URLs of any other flag show as
// user:xxxxx@ (see Redact).
package envflag

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// Set wraps a FlagSet and collects errors in environment values.
type Set struct {
	*flag.FlagSet
	errs []string
}

// New returns a Set for the named command.
func New(name string) *Set {
	return &Set{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
}

func (s *Set) env(env string) (string, bool) {
	v, ok := os.LookupEnv(env)
	return strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
}

func usage(env, u string) string { return fmt.Sprintf("%s (env %s)", u, env) }

// String binds a string flag.
func (s *Set) String(p *string, name, env, def, u string) {
	if v, ok := s.env(env); ok {
		def = v
	}
	s.StringVar(p, name, def, usage(env, u))
	s.Lookup(name).DefValue = Redact(def)
}

// Secret binds a string flag whose value is a secret (a token, a
// password): usage output shows "xxxxx" for a value from the environment.
// Its default is empty.
func (s *Set) Secret(p *string, name, env, u string) {
	s.String(p, name, env, "", u)
	if f := s.Lookup(name); f.DefValue != "" {
		f.DefValue = mask
	}
}

const mask = "xxxxx"

// Redact returns s with the credentials of every URL in it (scheme://
// user:password@host, or scheme://token@host) replaced by user:xxxxx@ (or
// xxxxx@). It works on any text, such as a comma-separated list of URLs or
// a URL that does not parse (a password with a raw / or #), and would
// rather hide too much (an @ later in a URL) than too little.
func Redact(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			break
		}
		i += len("://")
		b.WriteString(s[:i])
		s = s[i:]
		end := len(s)
		if j := strings.Index(s, "://"); j >= 0 {
			end = j
		}
		if j := strings.IndexAny(s[:end], " \t\n"); j >= 0 {
			end = j
		}
		at := strings.LastIndexByte(s[:end], '@')
		if at < 0 {
			continue
		}
		if user, _, ok := strings.Cut(s[:at], ":"); ok {
			b.WriteString(user + ":" + mask)
		} else {
			b.WriteString(mask)
		}
		s = s[at:]
	}
	b.WriteString(s)
	return b.String()
}

// List binds a comma-separated list flag.
func (s *Set) List(p *[]string, name, env string, def []string, u string) {
	d := strings.Join(def, ",")
	if v, ok := s.env(env); ok {
		d = v
	}
	*p = split(d)
	s.Func(name, usage(env, u)+fmt.Sprintf(" (default %q)", Redact(d)), func(v string) error {
		*p = split(v)
		return nil
	})
}

func split(v string) []string {
	out := []string{}
	for part := range strings.SplitSeq(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// Duration binds a duration flag.
func (s *Set) Duration(p *time.Duration, name, env string, def time.Duration, u string) {
	s.DurationVar(p, name, envDefault(s, env, def, time.ParseDuration, "a duration such as 5s"), usage(env, u))
}

// Int64 binds an integer flag.
func (s *Set) Int64(p *int64, name, env string, def int64, u string) {
	parse := func(v string) (int64, error) { return strconv.ParseInt(v, 10, 64) }
	s.Int64Var(p, name, envDefault(s, env, def, parse, "an integer"), usage(env, u))
}

// LogLevel binds a log level flag: debug, info, warn or error (as
// slog.Level reads them, so also "warn+2").
func (s *Set) LogLevel(p *slog.Level, name, env string, def slog.Level, u string) {
	parse := func(v string) (l slog.Level, err error) { return l, l.UnmarshalText([]byte(v)) }
	def = envDefault(s, env, def, parse, "a log level (debug, info, warn or error)")
	s.TextVar(p, name, def, usage(env, u))
	s.Lookup(name).DefValue = strings.ToLower(def.String())
}

// envDefault is env's value parsed, else def; a value that does not parse
// keeps def and is reported by Parse as "ENV="v" is not <what>".
func envDefault[T any](s *Set, env string, def T, parse func(string) (T, error), what string) T {
	v, ok := s.env(env)
	if !ok {
		return def
	}
	x, err := parse(v)
	if err != nil {
		s.errs = append(s.errs, fmt.Sprintf("%s=%q is not %s", env, v, what))
		return def
	}
	return x
}

// Int binds an integer flag.
func (s *Set) Int(p *int, name, env string, def int, u string) {
	var n int64
	s.Int64(&n, name, env, int64(def), u)
	*p = int(n)
	s.Lookup(name).Value = intValue{p}
}

type intValue struct{ p *int }

func (v intValue) String() string {
	if v.p == nil {
		return "0"
	}
	return strconv.Itoa(*v.p)
}

func (v intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("not an integer: %q", s)
	}
	*v.p = n
	return nil
}

// Parse parses args, reporting environment errors first.
func (s *Set) Parse(args []string) error {
	if len(s.errs) > 0 {
		return fmt.Errorf("%s", strings.Join(s.errs, "; "))
	}
	return s.FlagSet.Parse(args)
}
