package gctune

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestApply(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })

	t.Setenv("GOGC", "")
	if got := Apply(); got != 100 {
		t.Errorf("with GOGC set, Apply() = %d, want the runtime's 100 kept", got)
	}

	// t.Setenv restores GOGC afterwards; unset it for the default case.
	t.Setenv("GOGC", "x")
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
	if got := Apply(); got != DefaultPercent {
		t.Errorf("Apply() = %d, want %d", got, DefaultPercent)
	}
	if got := debug.SetGCPercent(DefaultPercent); got != DefaultPercent {
		t.Errorf("GC percent in effect = %d, want %d", got, DefaultPercent)
	}
}

func TestPercentFor(t *testing.T) {
	for live, want := range map[uint64]int{0: DefaultPercent, 1 << 20: DefaultPercent, 8 << 20: DefaultPercent, 16 << 20: 200, 32 << 20: 100, 64 << 20: 50, 1 << 30: MinPercent} {
		if got := percentFor(live); got != want {
			t.Errorf("percentFor(%d MiB) = %d, want %d", live>>20, got, want)
		}
	}
}
