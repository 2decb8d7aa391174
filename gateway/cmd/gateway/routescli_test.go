package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/route"
)

// TestRoutesCLI: "gateway routes export" writes the table as a routes
// file, page by page; "apply -f" shows the difference from it and then
// makes it (with -prune deleting what the file leaves out; -dry-run
// changing nothing); "list" filters.
func TestRoutesCLI(t *testing.T) {
	s := gt.New(t, route.Route{Domain: "*", Path: "/a", Function: "hello"}, route.Route{Domain: "shop.example", Path: "/pay", Function: "pay", Methods: []string{"POST"}},
		route.Route{Domain: "*", Path: "/old", Function: "hello"})
	gw := s.Gateway(gateway.Config{AdminToken: "cli-test-admin-token"})
	t.Setenv("FNGATE_ADMIN_URL", gw.AdminURL)
	t.Setenv("FNGATE_ADMIN_TOKEN", "cli-test-admin-token")
	run := func(args ...string) string {
		t.Helper()
		var out strings.Builder
		if err := routesCLI(args, &out); err != nil {
			t.Fatalf("routes %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	table := func() (out []string) {
		t.Helper()
		rs, _, err := s.Routes.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			out = append(out, r.Domain+r.Path+":"+r.Function)
		}
		slices.Sort(out)
		return out
	}
	for _, format := range []string{"yaml", "json"} {
		rs, err := route.ParseFile([]byte(run("export", "-format", format)))
		if err != nil || len(rs) != 3 || rs[0].Path != "/a" || rs[2].Domain != "shop.example" || !slices.Equal(rs[2].Methods, []string{"POST"}) {
			t.Fatalf("export -format %s = %+v, %v", format, rs, err)
		}
	}
	file := filepath.Join(t.TempDir(), "routes.yaml")
	if err := os.WriteFile(file, []byte(`routes:
  - {domain: "*", path: /a, function: hello2}
  - {domain: shop.example, path: /pay, function: pay, methods: [POST]}
  - {domain: "*", path: /new, function: hello}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	before := table()
	if out := run("apply", "-f", file, "-prune", "-dry-run"); !strings.Contains(out, "+ * /new -> hello\n~ * /a -> hello2\n- * /old -> hello\n1 to create, 1 to update, 1 to delete\n") || strings.Contains(out, "applied") {
		t.Fatalf("dry run printed:\n%s", out)
	}
	if got := table(); !slices.Equal(got, before) {
		t.Fatalf("a dry run changed the table: %v", got)
	}
	if out := run("apply", "-f", file); !strings.Contains(out, "1 to create, 1 to update, 0 to delete\napplied") {
		t.Fatalf("apply printed:\n%s", out)
	}
	if got, want := table(), []string{"*/a:hello2", "*/new:hello", "*/old:hello", "shop.example/pay:pay"}; !slices.Equal(got, want) {
		t.Fatalf("after apply: %v, want %v", got, want)
	}
	run("apply", "-f", file, "--prune")
	if got, want := table(), []string{"*/a:hello2", "*/new:hello", "shop.example/pay:pay"}; !slices.Equal(got, want) {
		t.Fatalf("after apply -prune: %v, want %v", got, want)
	}
	if out := run("apply", "-f", file, "-prune"); !strings.Contains(out, "0 to create, 0 to update, 0 to delete") {
		t.Fatalf("apply of the table as it is printed:\n%s", out)
	}
	if out := run("list", "-domain", "shop.example"); !strings.Contains(out, "shop.example  /pay  pay") || strings.Contains(out, "/new") {
		t.Fatalf("list -domain printed:\n%s", out)
	}
}
