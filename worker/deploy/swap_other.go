//go:build !linux

package deploy

import (
	"errors"
	"io/fs"
	"os"
)

// swap puts folder src at dst, moving a folder at dst to src. Without
// renameat2 there is a moment without dst; the runtime polls seldom
// enough that it hardly ever sees it.
func swap(src, dst string) error {
	if _, err := os.Stat(dst); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(src, dst)
	}
	old := src + ".old"
	if err := os.Rename(dst, old); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	return os.Rename(old, src)
}
