package codestore_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fngate/fngate/shared/codestore"
	"github.com/fngate/fngate/shared/codestore/codetest"
)

// TestHostileArchives: every archive that could write outside its folder,
// link anywhere, or unpack beyond the limits is refused by Check and by
// Extract, which then writes nothing outside its folder.
func TestHostileArchives(t *testing.T) {
	t.Parallel()
	lim := codestore.Limits{MaxFiles: 10, MaxBytes: 1 << 20}
	cases := []struct {
		name    string
		archive []byte
		want    error
		reason  string
	}{
		{"tar parent", codetest.TarGz(codetest.File("../evil.js", "x"), codetest.File("index.js", "")), codestore.ErrInvalidArchive, `".."`},
		{"tar nested parent", codetest.TarGz(codetest.File("a/../../evil.js", "x")), codestore.ErrInvalidArchive, `".."`},
		{"tar absolute", codetest.TarGz(codetest.File("/tmp/evil.js", "x")), codestore.ErrInvalidArchive, "absolute"},
		{"tar symlink", codetest.TarGz(codetest.Symlink("index.js", "/etc/passwd")), codestore.ErrInvalidArchive, "links"},
		{"tar hard link", codetest.TarGz(codetest.File("index.js", ""), codetest.HardLink("x.js", "/etc/passwd")), codestore.ErrInvalidArchive, "links"},
		{"tar device", codetest.TarGz(codetest.Device("null")), codestore.ErrInvalidArchive, "entry type"},
		{"zip parent", codetest.Zip(codetest.File("../evil.js", "x")), codestore.ErrInvalidArchive, `".."`},
		{"zip absolute", codetest.Zip(codetest.File("/evil.js", "x")), codestore.ErrInvalidArchive, "absolute"},
		{"zip backslash", codetest.Zip(codetest.File(`..\evil.js`, "x")), codestore.ErrInvalidArchive, "backslash"},
		{"zip symlink", codetest.Zip(codetest.Symlink("index.js", "/etc/passwd")), codestore.ErrInvalidArchive, "links"},
		{"too many files", codetest.TarGz(codetest.Many(11)...), codestore.ErrArchiveTooLarge, "entries"},
		{"zip bomb", codetest.Zip(codetest.Zeros("index.js", 2<<20)), codestore.ErrArchiveTooLarge, "bytes unpacked"},
		{"tar bomb", codetest.TarGz(codetest.Zeros("index.js", 2<<20)), codestore.ErrArchiveTooLarge, "bytes unpacked"},
		{"not an archive", []byte("#!/bin/sh\nrm -rf /\n"), codestore.ErrInvalidArchive, "not a .tar.gz or .zip"},
		{"corrupt gzip", append([]byte{0x1f, 0x8b}, "garbage"...), codestore.ErrInvalidArchive, "gzip"},
		{"no entry file", codetest.TarGz(codetest.File("README.md", "x")), codestore.ErrInvalidArchive, "no index.js"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := codestore.Check(c.archive, lim)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("Check: got %v, want %v mentioning %q", err, c.want, c.reason)
			}
			if c.reason == "no index.js" {
				return // Extract does not look for the entry file
			}
			parent := t.TempDir()
			if _, err := codestore.Extract(c.archive, filepath.Join(parent, "fn"), lim); !errors.Is(err, c.want) {
				t.Fatalf("Extract: got %v, want %v", err, c.want)
			}
			entries, _ := os.ReadDir(parent)
			if len(entries) != 1 || entries[0].Name() != "fn" {
				t.Fatalf("Extract wrote beside its folder: %v", entries)
			}
		})
	}
}

// TestArchiveLayouts: a folder's files at the top of the archive, under
// "./", or in one top-level folder unpack the same way.
func TestArchiveLayouts(t *testing.T) {
	t.Parallel()
	for name, archive := range map[string][]byte{
		"tar top":       codetest.TarGz(codetest.File("index.js", "v1"), codetest.File("lib/a.js", "a")),
		"tar dot":       codetest.TarGz(codetest.Dir("./"), codetest.File("./index.js", "v1"), codetest.File("./lib/a.js", "a")),
		"tar in folder": codetest.TarGz(codetest.Dir("greet/"), codetest.File("greet/index.js", "v1"), codetest.File("greet/lib/a.js", "a")),
		"zip top":       codetest.Zip(codetest.File("index.js", "v1"), codetest.File("lib/a.js", "a")),
		"zip in folder": codetest.Zip(codetest.File("greet/index.js", "v1"), codetest.File("greet/lib/a.js", "a")),
	} {
		t.Run(name, func(t *testing.T) {
			sum, err := codestore.Check(archive, codestore.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Bytes != 3 {
				t.Errorf("Bytes = %d, want 3", sum.Bytes)
			}
			root, err := codestore.Extract(archive, filepath.Join(t.TempDir(), "fn"), codestore.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			for file, want := range map[string]string{"index.js": "v1", "lib/a.js": "a"} {
				b, err := os.ReadFile(filepath.Join(root, file))
				if err != nil || string(b) != want {
					t.Errorf("%s: %q, %v; want %q", file, b, err, want)
				}
			}
		})
	}
}
