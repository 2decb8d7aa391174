// Package origin answers two questions about a request to the admin
// listener: does its Host name this machine's loopback, and did a browser
// send it from another site. The gateway's admin guard and the console
// share these answers, so they cannot drift apart.
package origin

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// LoopbackHost reports whether hostport (a Host header, port optional)
// names loopback: "localhost" or a loopback IP literal (127.0.0.0/8,
// [::1]). Names under .localhost are refused although RFC 6761 reserves
// them for loopback: not every resolver keeps that promise, and a Host a
// rebinding attacker could make resolve elsewhere must not pass.
func LoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		host = hostport[1 : len(hostport)-1] // "[::1]" without a port
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if strings.Contains(host, "%") { // a zone ("::1%lo") is not a Host a browser sends
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Same reports whether r may be a browser's same-origin request: its
// Sec-Fetch-Site, when sent, is "same-origin" or "none" (typed by the
// user), and its Origin, when sent, is r's own scheme-less host. Clients
// that send neither header (curl, the gateway's CLI) pass: they are not
// a web page, and what else guards the request decides.
func Same(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default: // same-site, cross-site, or a value we do not know
		return false
	}
	o, ok := r.Header["Origin"]
	if !ok {
		return true
	}
	if len(o) != 1 {
		return false
	}
	u, err := url.Parse(o[0])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.User != nil {
		return false // "null" (a sandboxed frame, a redirect chain) included
	}
	return strings.EqualFold(u.Host, r.Host)
}
