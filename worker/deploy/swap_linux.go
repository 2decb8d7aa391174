package deploy

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// swap puts folder src at dst; a folder at dst already trades places with
// src in one step (renameat2 RENAME_EXCHANGE), so dst never is missing.
func swap(src, dst string) error {
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.ENOENT) {
		if _, serr := os.Stat(dst); errors.Is(serr, fs.ErrNotExist) {
			return os.Rename(src, dst)
		}
	}
	return err
}
