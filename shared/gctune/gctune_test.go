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
