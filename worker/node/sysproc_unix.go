//go:build unix && !linux

package node

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts each process in its own group, so that killGroup also
// kills what the function started.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}
