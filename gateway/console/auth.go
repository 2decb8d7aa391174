package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fngate/fngate/gateway/internal/origin"
)

// Names of the session cookie and the CSRF form field and header.
const (
	cookieName = "fngate_console"
	csrfField  = "_csrf"
	csrfHeader = "X-CSRF-Token"
)

var b64 = base64.RawURLEncoding

// session is a signed-in browser.
type session struct {
	nonce string // random, names the session; the CSRF token derives from it
	csrf  string
}

// sessions issues and checks stateless session cookies:
// nonce.expiry.mac, where mac = HMAC(key, nonce.expiry).
type sessions struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

func newSessions(token string, ttl time.Duration) sessions {
	var key []byte
	if token != "" {
		m := hmac.New(sha256.New, []byte(token))
		m.Write([]byte("fngate console session v1"))
		key = m.Sum(nil)
	} else {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	return sessions{key: key, ttl: ttl, now: time.Now}
}

func (s sessions) mac(parts ...string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return b64.EncodeToString(m.Sum(nil))
}

// issue sets a new session cookie on w.
func (s sessions) issue(w http.ResponseWriter) session {
	nb := make([]byte, 16)
	_, _ = rand.Read(nb)
	nonce := b64.EncodeToString(nb)
	exp := strconv.FormatInt(s.now().Add(s.ttl).Unix(), 10)
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    nonce + "." + exp + "." + s.mac("session", nonce, exp),
		Path:     "/console/",
		MaxAge:   int(s.ttl.Seconds()),
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteStrictMode,
	})
	return session{nonce: nonce, csrf: s.mac("csrf", nonce)}
}

// clear removes the session cookie.
func (s sessions) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/console/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// check returns the session of r's cookie, if it is one of ours and current.
func (s sessions) check(r *http.Request) (session, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, false
	}
	nonce, rest, ok1 := strings.Cut(c.Value, ".")
	exp, mac, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || subtle.ConstantTimeCompare([]byte(mac), []byte(s.mac("session", nonce, exp))) != 1 {
		return session{}, false
	}
	e, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || s.now().Unix() >= e {
		return session{}, false
	}
	return session{nonce: nonce, csrf: s.mac("csrf", nonce)}, true
}

// validCSRF reports whether a state-changing request carries the session's
// CSRF token and does not come from another site (origin.Same: clients
// that send neither Origin nor Sec-Fetch-Site, like curl, are judged by
// the token alone).
func validCSRF(r *http.Request, s session) bool {
	if !origin.Same(r) {
		return false
	}
	tok := r.Header.Get(csrfHeader)
	if tok == "" {
		tok = r.PostFormValue(csrfField)
	}
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.csrf)) == 1
}

// checkToken compares a submitted admin token in constant time.
func checkToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
