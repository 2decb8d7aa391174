//go:build unix && !linux

package runtime

import (
	"os"
	"os/exec"
	"syscall"
)

// sysProcAttr puts each process in its own group, so that killGroup also
// kills what the function started, and runs it as uid when not 0.
func sysProcAttr(uid int) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: credential(uid)}
}

func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}

func protectSelf() {}

func canSetUID() bool { return os.Geteuid() == 0 }
