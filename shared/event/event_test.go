package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/nats-io/nats.go"
)

func sampleEvent() *Event {
	e := &Event{
		Path:                            "/api/hello",
		HTTPMethod:                      "POST",
		Headers:                         map[string]string{"content-type": "application/json", "x-weird": "a\"b\\c\n<>&\u2028"},
		MultiValueHeaders:               map[string][]string{"content-type": {"application/json"}, "x-weird": {"1", "a\"b\\c\n<>&\u2028"}},
		QueryStringParameters:           map[string]string{"name": "CloudBase"},
		MultiValueQueryStringParameters: map[string][]string{"name": {"x", "CloudBase"}},
		RequestContext: RequestContext{
			RequestID: "r1", EnvID: "dev", FunctionName: "hello-world",
			Domain: "localhost", SourceIP: "127.0.0.1", TriggerPath: "/api",
			TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		},
	}
	e.SetBody([]byte(`{"name":"CloudBase","version":"1.0"}`))
	return e
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	e := sampleEvent()
	got, err := Decode(e.AppendJSON(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, e)
	}
	std, _ := json.Marshal(e)
	var a, b any
	_ = json.Unmarshal(std, &a)
	_ = json.Unmarshal(e.AppendJSON(nil), &b)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("AppendJSON differs from encoding/json:\n%s\n%s", e.AppendJSON(nil), std)
	}
}

func TestBinaryBody(t *testing.T) {
	t.Parallel()
	raw := []byte{0xff, 0x00, 0xfe, 'a'}
	var e Event
	e.SetBody(raw)
	if !e.IsBase64Encoded || e.Body != "/wD+YQ==" {
		t.Fatalf("SetBody(binary) = %q, %v", e.Body, e.IsBase64Encoded)
	}
	back, err := e.BodyBytes()
	if err != nil || !bytes.Equal(back, raw) {
		t.Fatalf("BodyBytes = %v, %v", back, err)
	}
	e.SetBody([]byte("héllo"))
	if e.IsBase64Encoded || e.Body != "héllo" {
		t.Fatalf("SetBody(text) = %q, %v", e.Body, e.IsBase64Encoded)
	}
}

func TestFromValue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in     string
		status int
		ctype  string
		body   string
		code   string
	}{
		{in: `{"message":"success"}`, status: 200, ctype: contentJSON, body: `{"message":"success"}`},
		{in: `[1,2]`, status: 200, ctype: contentJSON, body: `[1,2]`},
		{in: `"hi"`, status: 200, ctype: contentText, body: `hi`},
		{in: `42`, status: 200, ctype: contentText, body: `42`},
		{in: `null`, status: 200},
		{in: `{"statusCode":404,"body":"{\"error\":\"Not Found\"}"}`, status: 404, ctype: contentJSON, body: `{"error":"Not Found"}`},
		{in: `{"statusCode":201,"headers":{"Content-Type":"text/html","X-N":3},"body":"<p>"}`, status: 201, ctype: "text/html", body: `<p>`},
		{in: `{"statusCode":200,"body":"/wD+","isBase64Encoded":true}`, status: 200, ctype: contentBin, body: "\xff\x00\xfe"},
		{in: `{"statusCode":200,"body":{"a":1}}`, status: 200, ctype: contentJSON, body: `{"a":1}`},
		{in: `{"statusCode":200,"body":"plain"}`, status: 200, ctype: contentText, body: `plain`},
		{in: `{"statusCode":99}`, code: CodeInvalidResponse},
		{in: `{"statusCode":"x"}`, code: CodeInvalidResponse},
		{in: `{"statusCode":200,"body":"!!","isBase64Encoded":true}`, code: CodeInvalidResponse},
		{in: `nope`, code: CodeInvalidResponse},
	}
	for _, c := range cases {
		r, err := FromValue([]byte(c.in))
		if c.code != "" {
			var fe *Error
			if !errors.As(err, &fe) || fe.Code != c.code {
				t.Errorf("FromValue(%s) err = %v, want code %s", c.in, err, c.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("FromValue(%s): %v", c.in, err)
			continue
		}
		if r.Status != c.status || r.Header.Get("Content-Type") != c.ctype || string(r.Body) != c.body {
			t.Errorf("FromValue(%s) = %d %q %q, want %d %q %q", c.in, r.Status, r.Header.Get("Content-Type"), r.Body, c.status, c.ctype, c.body)
		}
	}
}

func TestFromGo(t *testing.T) {
	t.Parallel()
	r, err := FromGo(&Response{StatusCode: 418, Headers: map[string]string{"x-a": "1", "Content-Length": "9", "bad\nname": "x"}, Body: "tea"})
	if err != nil || r.Status != 418 || r.Header.Get("X-A") != "1" || r.Header.Get("Content-Length") != "" || len(r.Header) != 2 {
		t.Fatalf("FromGo(envelope) = %+v, %v", r, err)
	}
	r, err = FromGo(map[string]int{"a": 1})
	if err != nil || r.Status != 200 || string(r.Body) != `{"a":1}` {
		t.Fatalf("FromGo(map) = %+v, %v", r, err)
	}
	if r, err = FromGo("x"); err != nil || string(r.Body) != "x" || r.Header.Get("Content-Type") != contentText {
		t.Fatalf("FromGo(string) = %+v, %v", r, err)
	}
	if _, err = FromGo(func() {}); err == nil {
		t.Fatal("FromGo(func) succeeded")
	}
}

func TestReplyMsgRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      *Reply
		compact bool
	}{
		{&Reply{Status: 201, Header: http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"a=1", "b=2"}}, Body: []byte("ok")}, false},
		{&Reply{Status: 200, Header: http.Header{"Content-Type": {contentJSON}}, Body: []byte(`{"a":1}`)}, true},
		{&Reply{Status: 200, Header: http.Header{"Content-Type": {contentJSON}, "X-A": {"1"}}, Body: []byte(`{"a":1}`)}, false},
		{&Reply{Status: 200, Header: http.Header{"Content-Type": {contentText}}, Body: []byte(`hi`)}, false},
		{&Reply{Status: 404, Header: http.Header{"Content-Type": {contentJSON}}, Body: []byte(`{}`)}, false},
		{&Reply{Status: 200, Header: http.Header{}}, false},
	} {
		m := tc.in.Msg()
		if got := len(m.Header) == 0; got != tc.compact {
			t.Errorf("Msg(%+v) headers %v, want compact %v", tc.in, m.Header, tc.compact)
		}
		out := &Reply{Header: http.Header{}}
		var err error
		out.Status, out.Body, err = ParseReply(m, out.Header)
		if len(tc.in.Body) == 0 {
			out.Body = tc.in.Body // nil and empty are the same body
		}
		if err != nil || !reflect.DeepEqual(tc.in, out) {
			t.Errorf("ParseReply(Msg()) = %+v, %v; want %+v", out, err, tc.in)
		}
	}
	// A message with neither headers nor body is no reply at all.
	if _, _, err := ParseReply(&nats.Msg{}, http.Header{}); !errors.Is(err, ErrNotReply) {
		t.Errorf("ParseReply(empty) err = %v, want ErrNotReply", err)
	}
	_, _, err := ParseReply(ErrorMsg(&Error{Code: CodeFunctionError, Message: "boom"}), http.Header{})
	var fe *Error
	if !errors.As(err, &fe) || fe.Code != CodeFunctionError || fe.Message != "boom" {
		t.Fatalf("ParseReply(ErrorMsg) err = %v", err)
	}
}

func TestAppendRequest(t *testing.T) {
	t.Parallel()
	r := &Request{
		Method: "POST", Path: "/api/x", Host: "Example.com:8080",
		Header:   http.Header{"Content-Type": {"application/json"}, "X-Multi": {"a", "b\"<"}},
		RawQuery: "name=Cloud%20Base&x=1&x=2&bad=%zz",
		Body:     []byte(`{"a":"é"}`),
		Context:  RequestContext{RequestID: "r", FunctionName: "f", Domain: "example.com"},
	}
	ev, err := Decode(AppendRequest(nil, r))
	if err != nil {
		t.Fatal(err)
	}
	want := &Event{
		Path: "/api/x", HTTPMethod: "POST",
		Headers:                         map[string]string{"content-type": "application/json", "x-multi": "b\"<", "host": "Example.com:8080"},
		MultiValueHeaders:               map[string][]string{"x-multi": {"a", "b\"<"}},
		QueryStringParameters:           map[string]string{"name": "Cloud Base", "x": "2"},
		MultiValueQueryStringParameters: map[string][]string{"x": {"1", "2"}},
		Body:                            `{"a":"é"}`,
		RequestContext:                  r.Context,
	}
	if !reflect.DeepEqual(ev, want) {
		t.Fatalf("AppendRequest:\n got %+v\nwant %+v", ev, want)
	}
	r.Body, r.RawQuery, r.Header = []byte{0xff, 0xfe}, "", http.Header{}
	ev, err = Decode(AppendRequest(nil, r))
	if err != nil || !ev.IsBase64Encoded || ev.Body != "//4=" || len(ev.QueryStringParameters) != 0 || ev.QueryStringParameters == nil {
		t.Fatalf("binary AppendRequest = %+v, %v", ev, err)
	}
}

func BenchmarkAppendRequest(b *testing.B) {
	r := &Request{
		Method: "GET", Path: "/echo", Host: "localhost:8080",
		Header:  http.Header{"User-Agent": {"curl/8"}, "Accept": {"*/*"}, "Content-Type": {"application/json"}},
		Body:    []byte(`{"name":"CloudBase","version":"1.0"}`),
		Context: RequestContext{RequestID: "r", FunctionName: "echo", Domain: "localhost", SourceIP: "127.0.0.1", TriggerPath: "/echo"},
	}
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRequest(buf[:0], r)
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("/a", "GET", "k", "v", "body", "id")
	f.Add("/\u2028", "P\x00", "<>&", "\xff\xfe", "\"\\", "\t\r\n")
	f.Fuzz(func(t *testing.T, path, method, k, v, body, id string) {
		e := &Event{
			Path: path, HTTPMethod: method,
			Headers:               map[string]string{k: v},
			MultiValueHeaders:     map[string][]string{k: {v, body}},
			QueryStringParameters: map[string]string{v: k},
			Body:                  body,
			RequestContext:        RequestContext{RequestID: id, Domain: k},
		}
		fast := e.AppendJSON(nil)
		if !json.Valid(fast) {
			t.Fatalf("AppendJSON produced invalid JSON: %q", fast)
		}
		std, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		a, err1 := Decode(fast)
		b, err2 := Decode(std)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("AppendJSON and encoding/json disagree:\n%q\n%q", fast, std)
		}
	})
}

func BenchmarkAppendJSON(b *testing.B) {
	e := sampleEvent()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendJSON(buf[:0])
	}
}

func BenchmarkEncodingJSON(b *testing.B) {
	e := sampleEvent()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = json.Marshal(e)
	}
}

func BenchmarkDecode(b *testing.B) {
	data := sampleEvent().AppendJSON(nil)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = Decode(data)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(sampleEvent().AppendJSON(nil))
	f.Add([]byte(`{"path":"/a","headers":null,"body":"x\u00e9\"\\\/\b\f\n\r\t","isBase64Encoded":true}`))
	f.Add([]byte(`{"path":"/a","PATH":"/b","extra":1}`))
	f.Add([]byte(`{"path":"/a","path":"/b"}`))
	f.Add([]byte(`{"headers":{"a":"1","a":"2"},"multiValueHeaders":{"a":[]}}`))
	f.Add([]byte(`{"body":"\ud83d\ude00 \ud800"} `))
	f.Add([]byte(`{"requestContext":{"requestId":null,"domain":"x"}}x`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var want Event
		wantErr := json.Unmarshal(data, &want)
		got, err := Decode(data)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("Decode(%q) err = %v, encoding/json err = %v", data, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(*got, want) {
			t.Fatalf("Decode(%q):\n got %+v\nwant %+v", data, *got, want)
		}
	})
}

func TestRedact(t *testing.T) {
	t.Parallel()
	ev := &Event{
		Path: "/x", HTTPMethod: "GET",
		Headers:           map[string]string{"authorization": "Bearer s", "cookie": "b=2", "x-keep": "k"},
		MultiValueHeaders: map[string][]string{"cookie": {"a=1", "b=2"}},
	}
	data := ev.AppendJSON(nil)
	out, err := Redact(data, []string{"Authorization", "COOKIE", "Proxy-Authorization"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	if got.Headers["authorization"] != Redacted || got.Headers["cookie"] != Redacted || got.Headers["x-keep"] != "k" ||
		len(got.MultiValueHeaders["cookie"]) != 2 || got.MultiValueHeaders["cookie"][0] != Redacted || got.Path != "/x" {
		t.Fatalf("redacted = %+v", got)
	}
	if same, _ := Redact(data, []string{"x-absent"}); string(same) != string(data) {
		t.Fatal("nothing to redact changed the event")
	}
	if _, err := Redact([]byte("not json"), []string{"authorization"}); err == nil {
		t.Fatal("an undecodable event was passed through")
	}
}
