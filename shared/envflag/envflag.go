// Package envflag binds command-line flags to FNGATE_* environment
// variables: each setting has a flag and a variable of the same meaning, the
// flag winning over the variable and the variable over the default.
package envflag

import (
	"flag"
	"fmt"
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
}

// List binds a comma-separated list flag.
func (s *Set) List(p *[]string, name, env string, def []string, u string) {
	d := strings.Join(def, ",")
	if v, ok := s.env(env); ok {
		d = v
	}
	*p = split(d)
	s.Func(name, usage(env, u)+fmt.Sprintf(" (default %q)", d), func(v string) error {
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
	if v, ok := s.env(env); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			s.errs = append(s.errs, fmt.Sprintf("%s=%q is not a duration such as 5s", env, v))
		} else {
			def = d
		}
	}
	s.DurationVar(p, name, def, usage(env, u))
}

// Int64 binds an integer flag.
func (s *Set) Int64(p *int64, name, env string, def int64, u string) {
	if v, ok := s.env(env); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			s.errs = append(s.errs, fmt.Sprintf("%s=%q is not an integer", env, v))
		} else {
			def = n
		}
	}
	s.Int64Var(p, name, def, usage(env, u))
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
