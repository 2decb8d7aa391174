package verify

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/strvals"
)

// The chart is linted and rendered with Helm's own packages (the ones
// `helm lint` and `helm template` run), pinned in go.mod: building the helm
// command instead compiles its registry, OCI and Kubernetes client code too,
// about four minutes of a 2-core machine on an empty build cache.

// rendering is one `helm template <release> <chart> --namespace
// <namespace> [-f valuesFile] [--set set]`.
type rendering struct {
	release, namespace string
	valuesFile         string
	set                string
}

// values are the user-supplied values: the -f file, then --set over it, as
// helm merges them.
func (r rendering) values() (map[string]any, error) {
	vals := map[string]any{}
	if r.valuesFile != "" {
		v, err := common.ReadValuesFile(r.valuesFile)
		if err != nil {
			return nil, err
		}
		vals = v.AsMap()
	}
	if r.set != "" {
		if err := strvals.ParseInto(r.set, vals); err != nil {
			return nil, fmt.Errorf("--set %s: %w", r.set, err)
		}
	}
	return vals, nil
}

// render renders the chart as helm template prints it: every non-empty
// template but NOTES.txt, in name order, each after a "---" line and its
// "# Source:" comment. A `fail` or `required` in a template is its error.
func render(r rendering) (string, error) {
	vals, err := r.values()
	if err != nil {
		return "", err
	}
	ch, err := loader.Load(chartDir)
	if err != nil {
		return "", err
	}
	top, err := util.ToRenderValuesWithSchemaValidation(ch, vals,
		common.ReleaseOptions{Name: r.release, Namespace: r.namespace, Revision: 1, IsInstall: true},
		common.DefaultCapabilities, false)
	if err != nil {
		return "", err
	}
	files, err := engine.Render(ch, top)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	for _, name := range slices.Sorted(maps.Keys(files)) {
		body := strings.TrimSpace(files[name])
		if body == "" || strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, body)
	}
	return out.String(), nil
}

func mustRender(t *testing.T, r rendering) string {
	t.Helper()
	out, err := render(r)
	if err != nil {
		t.Fatalf("helm template %+v: %v", r, err)
	}
	return out
}

// lintChart is `helm lint --strict` with the rendering's values: a warning
// fails as an error does.
func lintChart(t *testing.T, r rendering) {
	t.Helper()
	vals, err := r.values()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range lint.RunAll(chartDir, vals, r.namespace).Messages {
		if m.Severity >= support.WarningSev {
			t.Errorf("helm lint --strict %+v: %s", r, m)
		}
	}
}
