package worker

import (
	"cmp"
	"slices"

	"github.com/fngate/fngate/shared/presence"
)

// SetCode records which deployed version of function c.Function this
// worker serves (and which failed to load): heartbeats carry it to the
// gateways (GET /admin/functions/<name>). The deployer (package
// worker/deploy) calls it.
func (w *Worker) SetCode(c presence.Code) {
	w.codeMu.Lock()
	defer w.codeMu.Unlock()
	if w.code == nil {
		w.code = map[string]presence.Code{}
	}
	w.code[c.Function] = c
}

// codeStatus returns the recorded code of every function, by name.
func (w *Worker) codeStatus() []presence.Code {
	w.codeMu.Lock()
	defer w.codeMu.Unlock()
	out := make([]presence.Code, 0, len(w.code))
	for _, c := range w.code {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b presence.Code) int { return cmp.Compare(a.Function, b.Function) })
	return out
}
