package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/shared/codestore"
)

const functionsUsage = `usage: gateway functions <command> [args]

` + adminURLHelp + `.

commands:
  deploy   NAME DIR       upload folder DIR (index.js, index.mjs or index.py at its top) as NAME's next version; every worker serving NAME switches to it
  versions NAME           NAME's versions, the current one, and what each worker runs (with load errors)
  rollback NAME VERSION   serve an earlier version of NAME again
`

// functionsCLI runs "gateway functions ...", writing to out.
func functionsCLI(args []string, out io.Writer) error {
	c, fs, err := command("functions", functionsUsage, args)
	if err != nil {
		return err
	}
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%v\n%s", err, functionsUsage)
	}
	var d adminapi.FunctionDetail
	switch {
	case args[0] == "deploy" && fs.NArg() == 2:
		archive, err := codestore.Pack(fs.Arg(1))
		if err != nil {
			return err
		}
		if err := c.send("PUT", "/admin/functions/"+url.PathEscape(fs.Arg(0))+"/code", "application/gzip", archive, &d); err != nil {
			return err
		}
		v := d.Version(d.Current)
		_, err = fmt.Fprintf(out, "%s version %d deployed (%d bytes, %d files); the workers switch to it\n", d.Function, d.Current, v.Size, v.Files)
		return err
	case args[0] == "versions" && fs.NArg() == 1:
		if err := c.do("GET", "/admin/functions/"+url.PathEscape(fs.Arg(0)), nil, &d); err != nil {
			return err
		}
		return printVersions(out, &d)
	case args[0] == "rollback" && fs.NArg() == 2:
		v, err := strconv.ParseInt(fs.Arg(1), 10, 64)
		if err != nil || v < 1 {
			return fmt.Errorf("rollback: version %q is not a number of at least 1", fs.Arg(1))
		}
		body, _ := json.Marshal(adminapi.Rollback{Version: v})
		if err := c.do("POST", "/admin/functions/"+url.PathEscape(fs.Arg(0))+"/rollback", body, &d); err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s version %d is current; the workers switch to it\n", d.Function, d.Current)
		return err
	}
	return fmt.Errorf("unknown command or arguments %q\n%s", args, functionsUsage)
}

// printVersions writes d's versions (the current one starred), then its
// workers.
func printVersions(out io.Writer, d *adminapi.FunctionDetail) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tCREATED\tBYTES\tFILES\tSHA256")
	for _, v := range d.Versions {
		mark := " "
		if v.Version == d.Current {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s%d\t%s\t%d\t%d\t%.12s\n", mark, v.Version, v.Created.Format(time.RFC3339), v.Size, v.Files, v.SHA256)
	}
	fmt.Fprintln(tw, "\nWORKER\tHOST\tRUNS\tFAILED\tLOAD ERROR")
	for _, w := range d.Workers {
		failed := ""
		if w.Failed > 0 {
			failed = strconv.FormatInt(w.Failed, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", w.WorkerID, w.Host, w.Version, failed, oneLine(w.LoadError, 100))
	}
	return tw.Flush()
}
