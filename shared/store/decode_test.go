package store

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/fngate/fngate/shared/route"
)

// FuzzDecodeSame: a stored route read by the plain path is what
// encoding/json reads from it; the routes the store writes take that
// path.
func FuzzDecodeSame(f *testing.F) {
	for _, r := range []route.Route{
		{Domain: "t00001.tenant.example", Path: "/api/v1/users", Function: "fn-001", Methods: []string{"GET", "POST"}},
		{Domain: "*", Path: "/", Function: "f", Mode: route.ModeAsync},
		{Domain: "default", Path: "/a", Function: "f", Timeout: route.Duration(90e9)},
	} {
		if err := r.Normalize(); err != nil {
			f.Fatal(err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		if _, ok := decodePlain(string(b)); !ok {
			f.Fatalf("%s: not read by the plain path", b)
		}
		f.Add(string(b))
	}
	for _, s := range []string{`{}`, `{"id":"x","id":"y"}`, `{"methods":["a"],"methods":["b","c"]}`, `{"ID":"x"}`, `{"methods":[]}`,
		`{"timeout":"1h2m"}`, `{"timeout":"x"}`, `{"path":"/a\u0041"}`, `{"domain":"a",}`, `{"mode":"async"}x`, `{"stripPrefix":true}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		got, ok := decodePlain(data)
		if !ok {
			return
		}
		var want route.Route
		if err := json.Unmarshal([]byte(data), &want); err != nil {
			t.Fatalf("%q read by the plain path, but encoding/json: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: plain path %+v, encoding/json %+v", data, got, want)
		}
	})
}
