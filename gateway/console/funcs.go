package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/fngate/fngate/gateway/adminapi"
)

var funcs = template.FuncMap{
	// openAPI is the admin API's description, linked in every page's footer.
	"openAPI": func() string { return adminapi.OpenAPIPath },
	// when is a time element: UTC in the page, the reader's local time once
	// console.js has run (the UTC time stays in its title).
	"when": func(v any) template.HTML {
		var t time.Time
		switch v := v.(type) {
		case time.Time:
			t = v
		case *time.Time:
			if v != nil {
				t = *v
			}
		}
		if t.IsZero() {
			return ""
		}
		t = t.UTC()
		return template.HTML(`<time datetime="` + t.Format(time.RFC3339) + `">` + t.Format("2006-01-02 15:04:05Z") + `</time>`)
	},
	"join": strings.Join,
	"num": func(f float64) string {
		if f < 10 {
			return fmt.Sprintf("%.2f", f)
		}
		return fmt.Sprintf("%.1f", f)
	},
	"domainLabel": func(d string) string {
		switch d {
		case "default":
			return "default domain"
		case "*":
			return "* (any domain)"
		}
		return d
	},
	"modeOf": func(m string) string {
		if m == "" {
			return "sync"
		}
		return m
	},
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}
