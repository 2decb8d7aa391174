package node

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts each process in its own group, so that killGroup also
// kills what the function started, and has the kernel kill it if the worker
// dies without closing the runtime.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}
