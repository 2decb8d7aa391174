package codestore

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Limits bound what an archive may unpack to. The compressed size is the
// caller's to bound (FNGATE_MAX_CODE_BYTES): these stop an archive that
// is small on the wire and huge on disk (a zip bomb).
type Limits struct {
	// MaxFiles is the most entries (files and folders). Default
	// DefaultMaxFiles.
	MaxFiles int
	// MaxBytes is the most bytes of all files together, unpacked. Default
	// DefaultMaxUnpackedBytes.
	MaxBytes int64
}

// Defaults: AWS Lambda's limit for unpacked code, and enough files for a
// function with its node_modules.
const (
	DefaultMaxFiles         = 20_000
	DefaultMaxUnpackedBytes = 250 << 20
)

// WithDefaults returns l with zero fields set to their defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxUnpackedBytes
	}
	return l
}

// ArchiveError says which entry of an archive was refused, and why.
type ArchiveError struct {
	Entry  string
	Reason string
	Err    error // ErrInvalidArchive or ErrArchiveTooLarge
}

func (e *ArchiveError) Error() string {
	if e.Entry == "" {
		return e.Err.Error() + ": " + e.Reason
	}
	return fmt.Sprintf("%s: entry %q: %s", e.Err, e.Entry, e.Reason)
}

func (e *ArchiveError) Unwrap() error { return e.Err }

// Archive errors. Both wrap into an *ArchiveError naming the entry.
var (
	// ErrInvalidArchive: not a .tar.gz or .zip, corrupt, or an entry that
	// could escape the folder it unpacks to (an absolute path, "..", a
	// link, a device) or no function entry file.
	ErrInvalidArchive = errors.New("invalid code archive")
	// ErrArchiveTooLarge: more files or unpacked bytes than the Limits.
	ErrArchiveTooLarge = errors.New("code archive unpacks beyond the limits")
)

func invalid(entry, format string, args ...any) error {
	return &ArchiveError{Entry: entry, Reason: fmt.Sprintf(format, args...), Err: ErrInvalidArchive}
}

// EntryFiles are the files one of which a function folder must hold (the
// runtimes' entry files, package worker/runtime).
var EntryFiles = []string{"index.js", "index.mjs", "index.py"}

// Summary describes a checked archive.
type Summary struct {
	Files int   // entries, folders included
	Bytes int64 // unpacked size of the files
	// Root is the folder of the function inside the archive: "" when its
	// files are at the top, or the one top-level folder holding
	// everything (tar czf f.tgz greet/).
	Root string
}

// Check reads the whole archive as Extract would, writing nothing, and
// says what it holds. It refuses what Extract refuses, and an archive
// without one of EntryFiles in its function folder.
func Check(data []byte, lim Limits) (*Summary, error) {
	var names []string
	s, err := walk(data, lim, func(name string, dir bool, _ fs.FileMode, r io.Reader) error {
		names = append(names, name)
		if !dir {
			_, err := io.Copy(io.Discard, r)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.Root = rootOf(names)
	for _, e := range EntryFiles {
		for _, n := range names {
			if n == path.Join(s.Root, e) {
				return s, nil
			}
		}
	}
	return nil, invalid("", "no %s in the function folder", strings.Join(EntryFiles, ", "))
}

// Extract unpacks the archive into dst, which must not exist, and returns
// the function folder inside it (dst, or the one top-level folder of the
// archive). Files get mode 0644 (0755 when executable), folders 0755;
// modification times are the time of extraction, so a runtime that
// fingerprints files sees every version as changed.
func Extract(data []byte, dst string, lim Limits) (string, error) {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return "", err
	}
	var names []string
	_, err := walk(data, lim, func(name string, dir bool, mode fs.FileMode, r io.Reader) error {
		names = append(names, name)
		p := filepath.Join(dst, filepath.FromSlash(name))
		if dir {
			return os.MkdirAll(p, 0o755)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		perm := fs.FileMode(0o644)
		if mode&0o111 != 0 {
			perm = 0o755
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(dst, filepath.FromSlash(rootOf(names))), nil
}

// rootOf returns the one top-level folder every name is in, or "".
func rootOf(names []string) string {
	root, nested := "", false
	for i, n := range names {
		top, _, sub := strings.Cut(n, "/")
		if i > 0 && top != root {
			return ""
		}
		root, nested = top, nested || sub
	}
	if !nested {
		return "" // top-level files (a lone folder entry holds nothing)
	}
	return root
}

// entryFunc receives each entry: a cleaned, slash-separated relative name,
// whether it is a folder, its mode bits, and its content.
type entryFunc func(name string, dir bool, mode fs.FileMode, r io.Reader) error

// walk calls fn for each entry of a .tar.gz or .zip, refusing hostile
// entries, and enforcing lim on the bytes fn actually reads (an entry's
// declared size may lie).
func walk(data []byte, lim Limits, fn entryFunc) (*Summary, error) {
	lim = lim.WithDefaults()
	w := &walker{lim: lim, fn: fn}
	switch {
	case bytes.HasPrefix(data, []byte{0x1f, 0x8b}):
		return &w.sum, w.tarGz(data)
	case bytes.HasPrefix(data, []byte("PK\x03\x04")), bytes.HasPrefix(data, []byte("PK\x05\x06")):
		return &w.sum, w.zip(data)
	default:
		return nil, invalid("", "not a .tar.gz or .zip file")
	}
}

type walker struct {
	lim Limits
	fn  entryFunc
	sum Summary
}

func (w *walker) tarGz(data []byte) error {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return invalid("", "gzip: %v", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return w.readErr("", err)
		}
		var dir bool
		switch h.Typeflag {
		case tar.TypeReg:
		case tar.TypeDir:
			dir = true
		case tar.TypeSymlink, tar.TypeLink:
			return invalid(h.Name, "links are refused (the function folder must hold plain files)")
		default:
			return invalid(h.Name, "entry type %q is refused (only files and folders)", h.Typeflag)
		}
		if err := w.entry(h.Name, dir, fs.FileMode(h.Mode).Perm(), tr); err != nil {
			return err
		}
	}
}

func (w *walker) zip(data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return invalid("", "zip: %v", err)
	}
	for _, f := range zr.File {
		mode := f.Mode()
		dir := mode.IsDir()
		if !dir && !mode.IsRegular() {
			if mode&fs.ModeSymlink != 0 {
				return invalid(f.Name, "links are refused (the function folder must hold plain files)")
			}
			return invalid(f.Name, "entry type %s is refused (only files and folders)", mode.Type())
		}
		if err := w.zipEntry(f, dir); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) zipEntry(f *zip.File, dir bool) error {
	rc, err := f.Open()
	if err != nil {
		return w.readErr(f.Name, err)
	}
	defer rc.Close()
	return w.entry(f.Name, dir, f.Mode().Perm(), rc)
}

// entry checks one entry's name and the limits, then hands it to fn.
func (w *walker) entry(name string, dir bool, mode fs.FileMode, r io.Reader) error {
	clean, err := cleanName(name)
	if err != nil {
		return err
	}
	if clean == "" {
		return nil // "./": the archive's top folder itself
	}
	w.sum.Files++
	if w.sum.Files > w.lim.MaxFiles {
		return &ArchiveError{Entry: name, Reason: fmt.Sprintf("more than %d entries", w.lim.MaxFiles), Err: ErrArchiveTooLarge}
	}
	lr := &limitReader{r: r, w: w, name: name}
	if err := w.fn(clean, dir, mode, lr); err != nil {
		var ae *ArchiveError
		if errors.As(err, &ae) {
			return err
		}
		return w.readErr(name, err)
	}
	return nil
}

// readErr is a failure while reading entry: a corrupt archive, unless it
// is a limit.
func (w *walker) readErr(entry string, err error) error {
	var ae *ArchiveError
	if errors.As(err, &ae) {
		return err
	}
	return invalid(entry, "%v", err)
}

// cleanName returns an entry's name relative to the function folder, or
// refuses one that could land outside it.
func cleanName(name string) (string, error) {
	if strings.Contains(name, "\\") {
		return "", invalid(name, "backslashes are refused in names")
	}
	if strings.HasPrefix(name, "/") {
		return "", invalid(name, "absolute paths are refused")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", invalid(name, `".." is refused in names`)
		}
	}
	clean := path.Clean(name)
	if clean == "." {
		return "", nil
	}
	if !filepath.IsLocal(filepath.FromSlash(clean)) {
		return "", invalid(name, "not a relative path inside the folder")
	}
	return clean, nil
}

// limitReader counts the unpacked bytes of every entry against the limit.
type limitReader struct {
	r    io.Reader
	w    *walker
	name string
}

func (l *limitReader) Read(p []byte) (int, error) {
	if room := l.w.lim.MaxBytes - l.w.sum.Bytes; int64(len(p)) > room+1 {
		p = p[:room+1]
	}
	n, err := l.r.Read(p)
	l.w.sum.Bytes += int64(n)
	if l.w.sum.Bytes > l.w.lim.MaxBytes {
		return n, &ArchiveError{Entry: l.name, Reason: fmt.Sprintf("more than %d bytes unpacked", l.w.lim.MaxBytes), Err: ErrArchiveTooLarge}
	}
	return n, err
}
