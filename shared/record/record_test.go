package record_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fngate/fngate/shared/record"
)

func TestInvocationIDs(t *testing.T) {
	t.Parallel()
	a, b := record.NewInvocationID(), record.NewInvocationID()
	if a == b || !record.ValidInvocationID(a) || !record.ValidInvocationID(record.ReplayID(a)) {
		t.Fatalf("ids %q %q, replay %q", a, b, record.ReplayID(a))
	}
	// Every caller replaying a gets the same id; b's replay is another.
	if again := record.ReplayID(a); again != record.ReplayID(a) || again == record.ReplayID(b) || again == a {
		t.Fatal("ReplayID is not a function of the id")
	}
	for _, bad := range []string{"", "abc", strings.ToUpper(a), a + "0", a[:31] + "g", "../" + a[3:]} {
		if record.ValidInvocationID(bad) {
			t.Errorf("ValidInvocationID(%q) = true", bad)
		}
	}
}

// Both views embed Summary; their JSON stays flat, as before.
func TestJSONFlat(t *testing.T) {
	t.Parallel()
	inv := &record.Invocation{
		Summary:     record.Summary{ID: "x", Function: "f", Status: record.StatusDead, Result: &record.Result{StatusCode: 500}},
		ErrorCode:   record.CodeFunctionStatus,
		Error:       "stack trace",
		CallbackURL: "https://example.com/cb",
	}
	for _, v := range []any{inv, inv.Public()} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m["invocationId"] != "x" || m["function"] != "f" || m["status"] != "dead" || m["result"] == nil || m["Summary"] != nil {
			t.Errorf("%T as JSON = %s", v, b)
		}
	}
	b, _ := json.Marshal(inv.Public())
	if strings.Contains(string(b), "stack trace") || strings.Contains(string(b), "example.com") {
		t.Errorf("public view shows operator fields: %s", b)
	}
}

func ExampleInvocation_Public() {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	inv := &record.Invocation{
		Summary: record.Summary{ID: "9f86d081884c7d659a2feaa0c55ad015", Function: "resize", Mode: "async",
			Status: record.StatusDead, Attempts: 1, MaxAttempts: 1, CreatedAt: at, UpdatedAt: at},
		ErrorCode: "FUNCTION_ERROR",
		Error:     "panic: index out of range [recovered] at /srv/resize.go:42",
	}
	b, _ := json.MarshalIndent(inv.Public(), "", "  ")
	fmt.Println(string(b))
	// Output:
	// {
	//   "invocationId": "9f86d081884c7d659a2feaa0c55ad015",
	//   "function": "resize",
	//   "mode": "async",
	//   "status": "dead",
	//   "attempts": 1,
	//   "maxAttempts": 1,
	//   "createdAt": "2026-01-02T03:04:05Z",
	//   "updatedAt": "2026-01-02T03:04:05Z",
	//   "error": {
	//     "code": "FUNCTION_ERROR",
	//     "message": "the function failed"
	//   }
	// }
}
