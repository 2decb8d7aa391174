package builtin

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/worker/sdk"
)

// Functions returns every built-in function by name.
func Functions() map[string]sdk.Handler {
	return map[string]sdk.Handler{
		"echo":    sdk.HandlerFunc(Echo),
		"hello":   sdk.HandlerFunc(Hello),
		"process": sdk.JSON(Process),
		"users":   sdk.HandlerFunc(Users),
		"mirror":  sdk.HandlerFunc(Mirror),
		"sleep":   sdk.HandlerFunc(Sleep),
		"fail":    sdk.HandlerFunc(Fail),
		"panic":   sdk.HandlerFunc(Panic),
		"cpu":     sdk.HandlerFunc(CPU),
		"events":  sdk.HandlerFunc(Events),
	}
}

// Names returns the built-in function names, sorted.
func Names() []string {
	var ns []string
	for n := range Functions() {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

// Echo returns the event it received, as JSON.
func Echo(_ context.Context, ev *event.Event) (any, error) { return ev, nil }

// Hello greets the name in the query string, as the CloudBase GET example.
func Hello(_ context.Context, ev *event.Event) (any, error) {
	name := ev.QueryStringParameters["name"]
	if name == "" {
		name = "Guest"
	}
	body, _ := json.Marshal(map[string]any{"message": "Hello, " + name + "!", "timestamp": time.Now().UnixMilli()})
	return &event.Response{StatusCode: http.StatusOK, Body: string(body)}, nil
}

// ProcessResult is what Process returns.
type ProcessResult struct {
	Received  json.RawMessage `json:"received"`
	Processed bool            `json:"processed"`
}

// Process echoes a JSON body back, as the CloudBase POST example.
func Process(_ context.Context, _ *event.Event, in json.RawMessage) (ProcessResult, error) {
	if len(in) == 0 {
		in = json.RawMessage("null")
	}
	return ProcessResult{Received: in, Processed: true}, nil
}

// User is a record served by Users.
type User struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

var users = []User{{1, "User1"}, {2, "User2"}}

// Users is a RESTful function routed on httpMethod and path, as the
// CloudBase RESTful example: GET /users lists, GET /users/{id} gets one,
// anything else is its own 404.
func Users(_ context.Context, ev *event.Event) (any, error) {
	notFound := &event.Response{StatusCode: http.StatusNotFound, Body: `{"error":"Not Found"}`}
	if ev.HTTPMethod != http.MethodGet {
		return notFound, nil
	}
	if ev.Path == "/users" {
		return users, nil
	}
	rest, ok := strings.CutPrefix(ev.Path, "/users/")
	if !ok {
		return notFound, nil
	}
	id, err := strconv.Atoi(rest)
	if err != nil {
		return notFound, nil
	}
	for _, u := range users {
		if u.ID == id {
			return u, nil
		}
	}
	return notFound, nil
}

// Mirror returns the request body unchanged, as binary with the request's
// Content-Type: a round trip through isBase64Encoded both ways.
func Mirror(_ context.Context, ev *event.Event) (any, error) {
	b, err := ev.BodyBytes()
	if err != nil {
		return nil, sdk.Permanent(err)
	}
	ct := ev.Headers["content-type"]
	if ct == "" {
		ct = "application/octet-stream"
	}
	return &event.Response{
		StatusCode:      http.StatusOK,
		Headers:         map[string]string{"Content-Type": ct},
		Body:            base64.StdEncoding.EncodeToString(b),
		IsBase64Encoded: true,
	}, nil
}

// Sleep waits ?ms= milliseconds (default 100, at most 10 minutes) or until
// the call's deadline, then answers {"slept": ms}.
func Sleep(ctx context.Context, ev *event.Event) (any, error) {
	ms, _ := strconv.Atoi(ev.QueryStringParameters["ms"])
	if ms <= 0 {
		ms = 100
	}
	d := min(time.Duration(ms)*time.Millisecond, 10*time.Minute)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return map[string]int{"slept": ms}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// ErrFail is what Fail returns.
var ErrFail = errors.New("fail: this function always fails")

// Fail always returns an error.
func Fail(context.Context, *event.Event) (any, error) { return nil, ErrFail }

// Panic always panics.
func Panic(_ context.Context, ev *event.Event) (any, error) {
	panic(fmt.Sprintf("panic requested by %s", ev.RequestContext.RequestID))
}

// CPU work per call of CPU.
const (
	// DefaultCPURounds takes about 1.3 ms of one core on the development
	// machine (about 110 ns a round).
	DefaultCPURounds = 12000
	// MaxCPURounds bounds ?n= (about a second).
	MaxCPURounds = 10_000_000
)

// CPU is a CPU-bound function for benchmarks: ?n= rounds (default
// DefaultCPURounds, at most MaxCPURounds) of SHA-256, each over the last
// digest, then {"n": n, "digest": hex}. It stops early, failing, when the
// call's deadline passes.
func CPU(ctx context.Context, ev *event.Event) (any, error) {
	n, err := strconv.Atoi(ev.QueryStringParameters["n"])
	if err != nil || n <= 0 {
		n = DefaultCPURounds
	}
	n = min(n, MaxCPURounds)
	var d [sha256.Size]byte
	for i := range n {
		if i%4096 == 4095 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		d = sha256.Sum256(d[:])
	}
	return map[string]any{"n": n, "digest": hex.EncodeToString(d[:])}, nil
}
