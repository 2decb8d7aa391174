package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

var funcs = template.FuncMap{
	"when": func(v any) string {
		switch t := v.(type) {
		case time.Time:
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		case *time.Time:
			if t == nil || t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		}
		return ""
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
