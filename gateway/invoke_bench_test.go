package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/fngate/fngate/gateway"
	gt "github.com/fngate/fngate/gateway/gatewaytest"
	"github.com/fngate/fngate/shared/route"
	"github.com/fngate/fngate/shared/subject"
)

// BenchmarkInvoke is the gateway's sync hot path, public handler to reply,
// against a bare NATS responder (no worker): what the gateway allocates
// per call, NATS's request-reply included.
func BenchmarkInvoke(b *testing.B) {
	s := gt.New(b, route.Route{Domain: "*", Path: "/echo", Function: "echo"})
	nc := s.Conn()
	subj, _ := subject.Invoke("echo")
	reply := []byte(`{"ok":true}`)
	sub, err := nc.Subscribe(subj, func(m *nats.Msg) { _ = m.Respond(reply) })
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		b.Fatal(err)
	}
	g := s.Gateway(gateway.Config{})
	h := g.Handler()
	body := `{"hello":"world"}`
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "http://example.com/echo", strings.NewReader(body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
