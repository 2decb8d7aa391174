package runtime

import (
	"os"
	"os/exec"
	"syscall"
)

// sysProcAttr puts each process in its own group, so that killGroup also
// kills what the function started, has the kernel kill it if the worker dies
// without closing the runtime, and runs it as uid when not 0.
func sysProcAttr(uid int) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: credential(uid)}
}

func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}

// protectSelf makes the worker not dumpable: its /proc/<pid> files
// (environ, mem) then belong to root, and a function running as the
// worker's own user cannot read the worker's environment, credentials
// included. Core dumps of the worker are off as a consequence.
func protectSelf() {
	const prSetDumpable = 4 // PR_SET_DUMPABLE
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 0, 0)
}

// dumpable reports PR_GET_DUMPABLE, for tests.
func dumpable() bool {
	const prGetDumpable = 3 // PR_GET_DUMPABLE
	r, _, _ := syscall.RawSyscall(syscall.SYS_PRCTL, prGetDumpable, 0, 0)
	return r != 0
}

func canSetUID() bool { return os.Geteuid() == 0 }
