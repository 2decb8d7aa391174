package gateway

import "testing"

// BenchmarkAdmission is the admission's cost per request on the hot path:
// enter, reserve a small body, release, leave, from every core at once.
func BenchmarkAdmission(b *testing.B) {
	a := &admission{maxReqs: DefaultMaxInflight, maxBytes: DefaultMaxInflightBytes}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !a.enter() || !a.reserve(100) {
				b.Fatal("refused")
			}
			a.release(100)
			a.leave()
		}
	})
}
