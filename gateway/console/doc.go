// Package console is fngate's operator console: server-rendered pages at
// /console/ on the gateway's admin listener.
//
// The console is a face on the admin API, not a second API: every read and
// every change is an in-process call to the admin API ([adminapi.API],
// which the gateway implements), so its validation and errors are the
// API's: an [adminapi.Error] carries the code, message and field the HTTP
// API would answer, and the console shows it beside the form field it names. Pages are
// html/template documents that work without JavaScript; a small embedded
// script only adds copy buttons and the live request-rate view.
//
// Sign-in exchanges the admin token for a session cookie (HttpOnly, Secure,
// SameSite=Strict) signed with a key derived from the token, so any gateway
// replica with the same token accepts it and changing the token signs
// everyone out. Every state-changing form carries a CSRF token bound to the
// session, and cross-site posts are refused.
package console
