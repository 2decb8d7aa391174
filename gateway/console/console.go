package console

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/gateway/internal/origin"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is where the console is served.
const Prefix = "/console/"

// Config configures a Console.
type Config struct {
	// API is the admin API; every read and change goes through it, so its
	// validation and errors are the API's. Required. In the gateway it is
	// Gateway.Admin, called in process: the console's own sign-in, CSRF
	// and same-origin checks stand where the API's HTTP guards do.
	API adminapi.API
	// Token is the admin token. Empty means no sign-in: allowed only where
	// the admin API needs no token either (a loopback admin listener, whose
	// gateway refuses requests for any Host but a loopback one before they
	// reach the console). Forms still need the session's CSRF token and
	// the listener's own origin.
	Token string
	// PublicURL is the base URL of the gateway's public listener, used in
	// the URLs and curl lines shown for each route. Default
	// http://localhost:8080.
	PublicURL string
	// SessionTTL is how long a sign-in lasts. Default 12h.
	SessionTTL time.Duration
	// LiveInterval is how often the live view samples request counts.
	// Default 1s.
	LiveInterval time.Duration
	// LiveMaxStream bounds one live-view event stream; the browser
	// reconnects after it. Default 10m.
	LiveMaxStream time.Duration
	// MaxUpload bounds a code archive uploaded on a function's page (the
	// gateway's FNGATE_MAX_CODE_BYTES); other forms are bounded to 1 MiB.
	// Default 50 MiB.
	MaxUpload int64
	Logger    *slog.Logger
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	c.PublicURL = cmp.Or(c.PublicURL, "http://localhost:8080")
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	c.SessionTTL = cmp.Or(c.SessionTTL, 12*time.Hour)
	c.LiveInterval = cmp.Or(c.LiveInterval, time.Second)
	c.LiveMaxStream = cmp.Or(c.LiveMaxStream, 10*time.Minute)
	c.MaxUpload = cmp.Or(c.MaxUpload, 50<<20)
	c.Logger = cmp.Or(c.Logger, slog.Default())
	return c
}

// Validate reports the first invalid field; New also needs API.
func (c Config) Validate() error {
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("console: public URL %q is not an http(s) base URL such as http://localhost:8080", c.PublicURL)
	}
	if c.SessionTTL < time.Minute || c.LiveInterval < 100*time.Millisecond || c.LiveMaxStream < c.LiveInterval {
		return errors.New("console: SessionTTL must be at least 1m, LiveInterval at least 100ms, LiveMaxStream at least LiveInterval")
	}
	return nil
}

// Console serves the console's pages.
type Console struct {
	cfg      Config
	log      *slog.Logger
	api      adminapi.API
	sessions sessions
	pages    map[string]*template.Template
	mux      *http.ServeMux
	signIns  *throttle
}

// New returns a console.
func New(cfg Config) (*Console, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.API == nil {
		return nil, errors.New("console: the admin API is required")
	}
	c := &Console{
		cfg:      cfg,
		log:      cfg.Logger,
		api:      cfg.API,
		sessions: newSessions(cfg.Token, cfg.SessionTTL),
		pages:    map[string]*template.Template{},
		signIns:  newThrottle(signInBurst, signInEvery, signInClients),
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", n, err)
		}
		c.pages[base] = t
	}
	c.routes()
	return c, nil
}

// ServeHTTP serves the console under [Prefix].
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /console/login", c.loginPage)
	m.HandleFunc("POST /console/login", c.login)
	m.HandleFunc("POST /console/logout", c.authed(c.logout))
	m.HandleFunc("GET /console/{$}", c.authed(func(w http.ResponseWriter, r *http.Request, _ session) {
		http.Redirect(w, r, "/console/routes", http.StatusSeeOther)
	}))
	m.HandleFunc("GET /console/routes", c.authed(c.routeList))
	m.HandleFunc("GET /console/routes/new", c.authed(c.routeNew))
	m.HandleFunc("POST /console/routes", c.authed(c.routeCreate))
	m.HandleFunc("GET /console/routes/{id}/edit", c.authed(c.routeEdit))
	m.HandleFunc("POST /console/routes/{id}", c.authed(c.routeUpdate))
	m.HandleFunc("GET /console/routes/{id}/delete", c.authed(c.routeDeleteConfirm))
	m.HandleFunc("POST /console/routes/{id}/delete", c.authed(c.routeDelete))
	m.HandleFunc("GET /console/functions", c.authed(c.functionList))
	m.HandleFunc("GET /console/invocations", c.authed(c.invocationList))
	m.HandleFunc("GET /console/invocations/replay", c.authed(c.replayManyConfirm))
	m.HandleFunc("POST /console/invocations/replay", c.authed(c.replayMany))
	m.HandleFunc("GET /console/invocations/{id}", c.authed(c.invocationDetail))
	m.HandleFunc("GET /console/invocations/{id}/replay", c.authed(c.replayConfirm))
	m.HandleFunc("POST /console/invocations/{id}/replay", c.authed(c.replayOne))
	m.HandleFunc("GET /console/schedules", c.authed(c.scheduleList))
	m.HandleFunc("POST /console/schedules", c.authed(c.scheduleCreate))
	m.HandleFunc("GET /console/schedules/{id}/delete", c.authed(c.scheduleDeleteConfirm))
	m.HandleFunc("POST /console/schedules/{id}/delete", c.authed(c.scheduleDelete))
	m.HandleFunc("GET /console/invocations/{id}/cancel", c.authed(c.cancelConfirm))
	m.HandleFunc("POST /console/invocations/{id}/cancel", c.authed(c.cancelOne))
	m.HandleFunc("POST /console/functions/{name}", c.authed(c.setFunction))
	m.HandleFunc("GET /console/functions/{name}", c.authed(c.functionPage))
	// A multipart body holds the archive and the form's fields.
	m.HandleFunc("POST /console/functions/{name}/code", c.authedUpTo(c.cfg.MaxUpload+64<<10, c.deployCode))
	m.HandleFunc("POST /console/functions/{name}/rollback", c.authed(c.rollbackCode))
	m.HandleFunc("GET /console/live", c.authed(c.livePage))
	m.HandleFunc("GET /console/live/events", c.authed(c.liveEvents))
	m.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		c.errorPage(w, session{}, http.StatusNotFound, "No such page.")
	})
	c.mux = m
}

// authed runs h for a signed-in browser. Without a session, a page view is
// sent to sign in and anything else is refused; a state-changing request
// also needs the session's CSRF token.
func (c *Console) authed(h func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return c.authedUpTo(1<<20, h)
}

// authedUpTo is authed with bodies of up to limit bytes.
func (c *Console) authedUpTo(limit int64, h func(http.ResponseWriter, *http.Request, session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		s, ok := c.sessions.check(r)
		if !ok && c.cfg.Token == "" && r.Method == http.MethodGet {
			s, ok = c.sessions.issue(w), true // no token to ask for
		}
		if !ok {
			if r.Method == http.MethodGet && r.Header.Get("Accept") != "text/event-stream" {
				http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.errorPage(w, session{}, http.StatusUnauthorized, "Sign in first: this request carries no valid session.")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if !validCSRF(r, s) {
				c.errorPage(w, s, http.StatusForbidden, "This form is missing its CSRF token or comes from another site. Reload the page and try again.")
				return
			}
		}
		h(w, r, s)
	}
}

// view is what every page template gets.
type view struct {
	Title  string
	Nav    string
	CSRF   string
	SignIn bool // sign-in is in use: show "Sign out"
	Notice string
	Error  string
	D      any
}

func (c *Console) view(s session, nav, title string, d any) *view {
	return &view{Title: title, Nav: nav, CSRF: s.csrf, SignIn: c.cfg.Token != "", D: d}
}

func (c *Console) render(w http.ResponseWriter, status int, page string, v *view) {
	t := c.pages[page]
	if t == nil {
		c.log.Error("console: no template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		c.log.Error("console: render failed", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// errorPage answers status with a page saying msg.
func (c *Console) errorPage(w http.ResponseWriter, s session, status int, msg string) {
	v := c.view(s, "", http.StatusText(status), nil)
	v.Error = msg
	if status == http.StatusUnauthorized {
		v.SignIn = false
	}
	c.render(w, status, "error", v)
}

// apiFailure answers an admin API error that no form field explains.
func (c *Console) apiFailure(w http.ResponseWriter, r *http.Request, s session, err error) {
	var ae *adminapi.Error
	if errors.As(err, &ae) {
		status := ae.Status
		if status < 400 {
			status = http.StatusBadGateway
		}
		if status >= 500 {
			// Logged as the API's HTTP handlers log what they answer 5xx:
			// the page shows the code, the log the cause.
			c.log.Error("console: admin API call failed", "path", r.URL.Path, "status", status, "code", ae.Code, "err", err)
		}
		c.errorPage(w, s, status, ae.Message+" ("+ae.Code+")")
		return
	}
	if r.Context().Err() == nil {
		c.log.Error("console: admin API call failed", "path", r.URL.Path, "err", err)
	}
	c.errorPage(w, s, http.StatusInternalServerError, "Internal error; see the gateway's log.")
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.sessions.check(r); ok || c.cfg.Token == "" {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.render(w, http.StatusOK, "login", c.view(session{}, "", "Sign in", loginData{Next: safeNext(r.URL.Query().Get("next"))}))
}

type loginData struct {
	Next       string
	TokenError string
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	// Throttled before anything else, even the origin check: a guesser
	// must not learn faster by varying how it asks.
	if ok, wait := c.signIns.take(clientOf(r)); !ok {
		c.log.Warn("console: sign-in throttled", "remote", r.RemoteAddr)
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		c.errorPage(w, session{}, http.StatusTooManyRequests, "Too many sign-in attempts from this address. Wait a little and try again.")
		return
	}
	if !origin.Same(r) {
		c.errorPage(w, session{}, http.StatusForbidden, "Sign-in from another site is refused.")
		return
	}
	next := safeNext(r.PostFormValue("next"))
	if c.cfg.Token != "" && !checkToken(r.PostFormValue("token"), c.cfg.Token) {
		c.log.Warn("console: sign-in refused", "remote", r.RemoteAddr)
		c.render(w, http.StatusUnauthorized, "login", c.view(session{}, "", "Sign in", loginData{Next: next, TokenError: "That is not the admin token."}))
		return
	}
	c.sessions.issue(w)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, _ session) {
	c.sessions.clear(w)
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// safeNext keeps a post-sign-in redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) {
		return "/console/routes"
	}
	return next
}
