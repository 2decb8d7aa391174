package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/shared/route"
)

const routesUsage = `usage: gateway routes <command> [flags]

` + adminURLHelp + `, a page at a time.

commands:
  list   [-domain D] [-path PREFIX] [-function F] [-limit N]   list routes sorted by domain and path (-limit 0: all)
  export [-format yaml|json]                                    write every route as a routes file (FNGATE_ROUTES) to stdout
  apply  -f FILE [-prune] [-dry-run]                            make the table what FILE says: show the difference, then
                                                                create and update its routes (-prune: delete the others)
`

// routesCLI runs "gateway routes ...", writing to out.
func routesCLI(args []string, out io.Writer) error {
	c, fs, err := command("routes", routesUsage, args)
	if err != nil {
		return err
	}
	var o struct {
		domain, path, function, format, file string
		limit                                int
		prune, dryRun                        bool
	}
	fs.StringVar(&o.domain, "domain", "", "only this domain")
	fs.StringVar(&o.path, "path", "", "only trigger paths starting with this")
	fs.StringVar(&o.function, "function", "", "only this function's routes")
	fs.IntVar(&o.limit, "limit", 0, "most routes listed (0: all)")
	fs.StringVar(&o.format, "format", "yaml", "yaml or json")
	fs.StringVar(&o.file, "f", "", "routes file")
	fs.BoolVar(&o.prune, "prune", false, "delete routes the file does not list")
	fs.BoolVar(&o.dryRun, "dry-run", false, "show the difference only")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%v\n%s", err, routesUsage)
	}
	switch args[0] {
	case "list":
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DOMAIN\tPATH\tFUNCTION\tMETHODS\tMODE\tTIMEOUT")
		n := 0
		err := c.eachRoute(url.Values{"domain": {o.domain}, "path": {o.path}, "function": {o.function}}, func(r route.Route) bool {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Domain, r.Path, r.Function, strings.Join(r.Methods, ","), cmpOr(r.Mode, route.ModeSync), r.Timeout)
			n++
			return o.limit == 0 || n < o.limit
		})
		if ferr := tw.Flush(); err == nil {
			err = ferr
		}
		return err
	case "export":
		return exportRoutes(c, out, o.format)
	case "apply":
		if o.file == "" {
			return errors.New("apply needs -f FILE")
		}
		return applyRoutes(c, out, o.file, o.prune, o.dryRun)
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], routesUsage)
}

func cmpOr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// newAdminClient talks to FNGATE_ADMIN_URL with FNGATE_ADMIN_TOKEN.
func newAdminClient() *adminClient {
	base := strings.TrimRight(os.Getenv("FNGATE_ADMIN_URL"), "/")
	if base == "" {
		base = "http://127.0.0.1:8081"
	}
	return &adminClient{base: base, token: os.Getenv("FNGATE_ADMIN_TOKEN"), http: &http.Client{Timeout: 60 * time.Second}}
}

// eachRoute calls fn for every route q selects, fetching pages of
// adminapi.MaxLimit, until fn returns false.
func (c *adminClient) eachRoute(q url.Values, fn func(route.Route) bool) error {
	for k, v := range q {
		if len(v) == 0 || v[0] == "" {
			delete(q, k)
		}
	}
	q.Set("limit", strconv.Itoa(adminapi.MaxLimit))
	for {
		var page adminapi.RouteList
		if err := c.do("GET", "/admin/routes?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		for _, r := range page.Routes {
			if !fn(r) {
				return nil
			}
		}
		if page.NextCursor == "" {
			return nil
		}
		q.Set("cursor", page.NextCursor)
	}
}

// exportRoutes writes every route as a routes file, a page at a time.
func exportRoutes(c *adminClient, out io.Writer, format string) error {
	w := bufio.NewWriter(out)
	var err error
	switch format {
	case "yaml":
		fmt.Fprintln(w, "routes:")
		err = c.eachRoute(url.Values{}, func(r route.Route) bool {
			b, merr := yaml.Marshal(&r)
			if merr != nil {
				err = merr
				return false
			}
			for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
				prefix := "    "
				if i == 0 {
					prefix = "  - "
				}
				fmt.Fprintln(w, prefix+line)
			}
			return true
		})
	case "json":
		fmt.Fprint(w, `{"routes": [`)
		sep := "\n  "
		err = c.eachRoute(url.Values{}, func(r route.Route) bool {
			r.ID = ""
			b, _ := json.Marshal(&r)
			fmt.Fprint(w, sep)
			_, _ = w.Write(b)
			sep = ",\n  "
			return true
		})
		fmt.Fprintln(w, "\n]}")
	default:
		return fmt.Errorf("-format %q: yaml or json", format)
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

// applyRoutes shows how the table differs from the file, then (unless
// dryRun) makes each change through the admin API: the file's routes
// created or updated, and with prune the others deleted.
func applyRoutes(c *adminClient, out io.Writer, file string, prune, dryRun bool) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	want, err := route.ParseFile(data)
	if err != nil {
		return err
	}
	byID := make(map[string]int, len(want))
	for i := range want {
		byID[want[i].ID] = i
	}
	seen := make([]bool, len(want))
	var update, remove []route.Route
	err = c.eachRoute(url.Values{}, func(have route.Route) bool {
		i, ok := byID[have.ID]
		switch {
		case !ok:
			if prune {
				remove = append(remove, have)
			}
		case !sameRoute(have, want[i]):
			update = append(update, want[i])
			seen[i] = true
		default:
			seen[i] = true
		}
		return true
	})
	if err != nil {
		return err
	}
	var create []route.Route
	for i := range want {
		if !seen[i] {
			create = append(create, want[i])
		}
	}
	for _, d := range []struct {
		sign string
		rs   []route.Route
	}{{"+", create}, {"~", update}, {"-", remove}} {
		for _, r := range d.rs {
			fmt.Fprintf(out, "%s %s %s -> %s\n", d.sign, r.Domain, r.Path, r.Function)
		}
	}
	fmt.Fprintf(out, "%d to create, %d to update, %d to delete\n", len(create), len(update), len(remove))
	if dryRun {
		return nil
	}
	for _, r := range create {
		b, _ := json.Marshal(&r)
		if err := c.do("POST", "/admin/routes", b, &json.RawMessage{}); err != nil {
			return fmt.Errorf("create %s %s: %w", r.Domain, r.Path, err)
		}
	}
	for _, r := range update {
		b, _ := json.Marshal(&r)
		if err := c.do("PUT", "/admin/routes/"+url.PathEscape(r.ID), b, &json.RawMessage{}); err != nil {
			return fmt.Errorf("update %s %s: %w", r.Domain, r.Path, err)
		}
	}
	for _, r := range remove {
		if err := c.do("DELETE", "/admin/routes/"+url.PathEscape(r.ID), nil, nil); err != nil {
			return fmt.Errorf("delete %s %s: %w", r.Domain, r.Path, err)
		}
	}
	fmt.Fprintln(out, "applied")
	return nil
}

// sameRoute compares two normalised routes as the store holds them.
func sameRoute(a, b route.Route) bool {
	x, _ := json.Marshal(&a)
	y, _ := json.Marshal(&b)
	return bytes.Equal(x, y)
}
