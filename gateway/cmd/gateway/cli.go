package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/record"
)

// adminURLHelp says where the command line subcommands connect.
const adminURLHelp = `Talks to a running gateway's admin API (FNGATE_ADMIN_URL, default
http://127.0.0.1:8081, with FNGATE_ADMIN_TOKEN)`

const cliUsage = `usage: gateway invocations <command> [flags]

` + adminURLHelp + `.

commands:
  list   [-function F] [-status S] [-since T] [-until T] [-limit N]   list records, newest first (status: queued, running, failed, succeeded, dead, cancelled)
  get    ID                                                        one record with its event, as JSON
  replay ID...                                                     replay these invocations
  replay -body-file F ID                                           replay with the body from file F (a new, edited invocation every time)
  cancel ID...                                                     cancel these invocations (queued: never run; running: stopped)
  replay -function F [-status dead] [-since T] [-until T] [-limit N] replay every match not replayed before
`

// invocationsCLI runs "gateway invocations ...", writing to out.
func invocationsCLI(args []string, out io.Writer) error {
	c, fs, err := command("invocations", cliUsage, args)
	if err != nil {
		return err
	}
	function := fs.String("function", "", "function name")
	status := fs.String("status", "", "record status")
	since := fs.String("since", "", "RFC 3339 time, inclusive")
	until := fs.String("until", "", "RFC 3339 time, exclusive")
	limit := fs.Int("limit", 0, "how many records")
	bodyFile := fs.String("body-file", "", "replay with this file as the event's body")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%v\n%s", err, cliUsage)
	}
	switch args[0] {
	case "list":
		q := url.Values{}
		for k, v := range map[string]string{"function": *function, "status": *status, "since": *since, "until": *until} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if *limit > 0 {
			q.Set("limit", fmt.Sprint(*limit))
		}
		var page record.Page
		if err := c.do("GET", "/admin/invocations?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tFUNCTION\tSTATUS\tATTEMPTS\tCREATED\tREPLAY OF\tERROR")
		for _, inv := range page.Invocations {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", inv.ID, inv.Function, inv.Status, inv.Attempts, inv.MaxAttempts,
				inv.CreatedAt.Format(time.RFC3339), inv.ReplayOf, oneLine(inv.Error, 80))
		}
		if page.NextCursor != "" {
			fmt.Fprintln(tw, "(more: narrow the filter or raise -limit)")
		}
		return tw.Flush()
	case "get":
		if fs.NArg() != 1 {
			return errors.New("usage: gateway invocations get ID")
		}
		var raw json.RawMessage
		if err := c.do("GET", "/admin/invocations/"+url.PathEscape(fs.Arg(0)), nil, &raw); err != nil {
			return err
		}
		var buf bytes.Buffer
		_ = json.Indent(&buf, raw, "", "  ")
		_, err := fmt.Fprintln(out, buf.String())
		return err
	case "cancel":
		if fs.NArg() == 0 {
			return errors.New("usage: gateway invocations cancel ID [ID ...]")
		}
		return c.eachInvocation(fs.Args(), "cancel", nil, func(id string, a answer) {
			fmt.Fprintf(out, "%s %s\n", id, a.Status)
		})
	case "replay":
		edit, err := editBody(*bodyFile)
		if err != nil {
			return err
		}
		if edit != nil && fs.NArg() != 1 {
			return errors.New("usage: gateway invocations replay -body-file F ID")
		}
		if fs.NArg() > 0 {
			return c.eachInvocation(fs.Args(), "replay", edit, func(id string, a answer) {
				fmt.Fprintf(out, "%s replayed as %s\n", id, a.InvocationID)
			})
		}
		if *function == "" && *status == "" && *since == "" && *until == "" {
			return errors.New("replay needs ids or a filter (-function, -status, -since, -until)")
		}
		body, _ := json.Marshal(map[string]any{"function": *function, "status": *status, "since": *since, "until": *until, "limit": *limit})
		var res struct {
			Replayed []struct{ InvocationID, ReplayOf string }
			Errors   []string
		}
		if err := c.do("POST", "/admin/invocations/replay", body, &res); err != nil {
			return err
		}
		for _, r := range res.Replayed {
			fmt.Fprintf(out, "%s replayed as %s\n", r.ReplayOf, r.InvocationID)
		}
		for _, e := range res.Errors {
			fmt.Fprintf(out, "error: %s\n", e)
		}
		fmt.Fprintf(out, "%d replayed, %d errors\n", len(res.Replayed), len(res.Errors))
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], cliUsage)
}

// answer is what POST /admin/invocations/<id>/<action> answers.
type answer struct{ InvocationID, Status string }

// eachInvocation posts action for each of ids with body, in turn, and
// hands each answer to done; it stops at the first error.
func (c *adminClient) eachInvocation(ids []string, action string, body []byte, done func(id string, a answer)) error {
	for _, id := range ids {
		var a answer
		if err := c.do("POST", "/admin/invocations/"+url.PathEscape(id)+"/"+action, body, &a); err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		done(id, a)
	}
	return nil
}

// editBody is the body of an edited replay with file's contents as the
// event body (base64 when they are not UTF-8 text); nil without a file.
func editBody(file string) ([]byte, error) {
	if file == "" {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	body, b64 := event.EncodeBody(b)
	return json.Marshal(map[string]any{"body": body, "isBase64Encoded": b64})
}

// command starts subcommand args[0] of group ("gateway group ..."): its
// admin API client and a flag set, or the usage when args are empty.
func command(group, usage string, args []string) (*adminClient, *flag.FlagSet, error) {
	if len(args) == 0 {
		return nil, nil, errors.New(strings.TrimSpace(usage))
	}
	fs := flag.NewFlagSet(group+" "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return newAdminClient(), fs, nil
}

type adminClient struct {
	base, token string
	http        *http.Client
}

func (c *adminClient) do(method, path string, body []byte, into any) error {
	return c.send(method, path, "application/json", body, into)
}

// send is do with a body of another type (a code archive).
func (c *adminClient) send(method, path, contentType string, body []byte, into any) error {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 == 2 && into == nil {
		return nil
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Code != "" {
			return fmt.Errorf("%d %s: %s", resp.StatusCode, e.Error.Code, e.Error.Message)
		}
		return fmt.Errorf("%d: %s", resp.StatusCode, b)
	}
	return json.Unmarshal(b, into)
}

func oneLine(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
