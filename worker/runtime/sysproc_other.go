//go:build !unix

package runtime

import (
	"os/exec"
	"syscall"
)

func sysProcAttr(int) *syscall.SysProcAttr { return nil }

func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }

func protectSelf() {}

func canSetUID() bool { return false }
