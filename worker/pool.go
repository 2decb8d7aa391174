package worker

import (
	"fmt"
	"path"
)

// Worker pools: Config.Functions.

// Serves reports whether this worker serves function name: every function
// when Config.Functions is empty, else those it names or matches.
func (w *Worker) Serves(name string) bool { return matchAny(w.cfg.Functions, name) }

func matchAny(patterns []string, name string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

func validPatterns(patterns []string) error {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil || p == "" {
			return fmt.Errorf("worker: Functions: bad pattern %q (names or path.Match patterns such as img-*)", p)
		}
	}
	return nil
}
