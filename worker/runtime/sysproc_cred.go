//go:build unix

package runtime

import "syscall"

// credential is uid with the group of the same number and no
// supplementary groups (the worker's, root's, are dropped); nil for 0.
func credential(uid int) *syscall.Credential {
	if uid == 0 {
		return nil
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}
}
