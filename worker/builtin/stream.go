package builtin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/worker/sdk"
)

// Events streams its response (#17): ?n= server-sent events (default 20,
// at most 100000) "data: 1" to "data: n", one every ?ms= milliseconds
// (default 100). With ?size=b (at most 1 MiB) each event is b bytes of
// "x" sent as application/octet-stream instead: a bulk stream.
func Events(_ context.Context, ev *event.Event) (any, error) {
	q := ev.QueryStringParameters
	n := boundedInt(q["n"], 20, 100000)
	gap := time.Duration(boundedInt(q["ms"], 100, 60000)) * time.Millisecond
	size := boundedInt(q["size"], 0, 1<<20)
	ct := "text/event-stream"
	if size > 0 {
		ct = "application/octet-stream"
	}
	return sdk.Stream(http.StatusOK, http.Header{"Content-Type": {ct}, "Cache-Control": {"no-cache"}}, func(ctx context.Context, w io.Writer) error {
		blob := make([]byte, size)
		for i := range blob {
			blob[i] = 'x'
		}
		t := time.NewTimer(0)
		defer t.Stop()
		for i := 1; i <= n; i++ {
			var err error
			if size > 0 {
				_, err = w.Write(blob)
			} else {
				_, err = fmt.Fprintf(w, "data: %d\n\n", i)
			}
			if err != nil {
				return err
			}
			if gap == 0 || i == n {
				continue
			}
			t.Reset(gap)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
		return nil
	}), nil
}

// boundedInt is s as an int in 0..max, def when s is empty or invalid.
func boundedInt(s string, def, max int) int {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return def
	}
	return min(v, max)
}
