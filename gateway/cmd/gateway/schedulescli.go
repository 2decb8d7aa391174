package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"

	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/schedule"
)

const schedulesUsage = `usage: gateway schedules <command> [flags]

` + adminURLHelp + `.

commands:
  list                                                              every schedule
  create -function F (-every D | -cron C [-timezone Z]) [-id ID] [-body B] [-header k=v]... [-max-attempts N]
                                                                    create a schedule; each firing is an async invocation
  delete ID...                                                      delete these schedules: they fire no more
`

// headerFlags collects repeated -header k=v flags.
type headerFlags map[string]string

func (h headerFlags) String() string { return fmt.Sprint(map[string]string(h)) }

func (h headerFlags) Set(v string) error {
	for i := 0; i < len(v); i++ {
		if v[i] == '=' {
			h[v[:i]] = v[i+1:]
			return nil
		}
	}
	return errors.New("a header is name=value")
}

// schedulesCLI runs "gateway schedules ...", writing to out.
func schedulesCLI(args []string, out io.Writer) error {
	c, fs, err := command("schedules", schedulesUsage, args)
	if err != nil {
		return err
	}
	var s schedule.Schedule
	headers := headerFlags{}
	fs.StringVar(&s.ID, "id", "", "schedule id (generated when omitted)")
	fs.StringVar(&s.Function, "function", "", "function name")
	fs.StringVar(&s.Every, "every", "", "interval, a Go duration of at least 1s")
	fs.StringVar(&s.Cron, "cron", "", "six-field cron pattern with seconds, or @hourly, @daily, ...")
	fs.StringVar(&s.Timezone, "timezone", "", "IANA time zone of -cron (default UTC)")
	fs.StringVar(&s.Body, "body", "", "event body of each firing")
	fs.Var(headers, "header", "event header name=value (repeatable)")
	attempts := fs.Int("max-attempts", 0, "attempts per firing (default the route default, 3)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%v\n%s", err, schedulesUsage)
	}
	switch args[0] {
	case "list":
		var l struct{ Schedules []schedule.Schedule }
		if err := c.do("GET", "/admin/schedules", nil, &l); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tFUNCTION\tWHEN\tTIMEZONE")
		for _, s := range l.Schedules {
			when := "every " + s.Every
			if s.Cron != "" {
				when = "cron " + s.Cron
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ID, s.Function, when, s.Timezone)
		}
		return tw.Flush()
	case "create":
		if len(headers) > 0 {
			s.Headers = headers
		}
		if *attempts > 0 {
			s.Retry = &route.Retry{MaxAttempts: *attempts}
		}
		body, _ := json.Marshal(&s)
		var made schedule.Schedule
		if err := c.do("POST", "/admin/schedules", body, &made); err != nil {
			return err
		}
		fmt.Fprintf(out, "schedule %s created\n", made.ID)
		return nil
	case "delete":
		if fs.NArg() == 0 {
			return errors.New("usage: gateway schedules delete ID [ID]")
		}
		for _, id := range fs.Args() {
			if err := c.do("DELETE", "/admin/schedules/"+url.PathEscape(id), nil, nil); err != nil {
				return fmt.Errorf("%s: %w", id, err)
			}
			fmt.Fprintf(out, "schedule %s deleted\n", id)
		}
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], schedulesUsage)
}
