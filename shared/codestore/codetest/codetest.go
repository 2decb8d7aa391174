// Package codetest builds code archives for tests, hostile ones included.
package codetest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
)

// Entry is one entry of an archive.
type Entry struct {
	Name  string
	Body  string
	Zeros int64 // a body of this many zero bytes instead (bombs)
	Type  byte  // tar.TypeReg, TypeDir, TypeSymlink, TypeLink, TypeChar
	Link  string
}

// File is a regular file.
func File(name, body string) Entry { return Entry{Name: name, Body: body, Type: tar.TypeReg} }

// Dir is a folder.
func Dir(name string) Entry { return Entry{Name: name, Type: tar.TypeDir} }

// Symlink is a symbolic link to target.
func Symlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeSymlink, Link: target}
}

// HardLink is a hard link to target (tar only).
func HardLink(name, target string) Entry { return Entry{Name: name, Type: tar.TypeLink, Link: target} }

// Device is a character device (tar only).
func Device(name string) Entry { return Entry{Name: name, Type: tar.TypeChar} }

// Zeros is a file of n zero bytes: small compressed, large unpacked.
func Zeros(name string, n int64) Entry { return Entry{Name: name, Zeros: n, Type: tar.TypeReg} }

// Many is n small files (with an index.js).
func Many(n int) []Entry {
	es := []Entry{File("index.js", "exports.main = async () => 1;\n")}
	for i := 1; i < n; i++ {
		es = append(es, File(fmt.Sprintf("f/%d.txt", i), ""))
	}
	return es
}

func (e Entry) body() io.Reader {
	if e.Zeros > 0 {
		return io.LimitReader(zeros{}, e.Zeros)
	}
	return bytes.NewReader([]byte(e.Body))
}

func (e Entry) size() int64 {
	if e.Zeros > 0 {
		return e.Zeros
	}
	return int64(len(e.Body))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TarGz returns a .tar.gz of entries.
func TarGz(entries ...Entry) []byte {
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Typeflag: e.Type, Mode: 0o644, Linkname: e.Link}
		switch e.Type {
		case tar.TypeReg:
			h.Size = e.size()
		case tar.TypeDir:
			h.Mode = 0o755
		}
		must(tw.WriteHeader(h))
		if e.Type == tar.TypeReg {
			_, err := io.Copy(tw, e.body())
			must(err)
		}
	}
	must(tw.Close())
	must(gz.Close())
	return buf.Bytes()
}

// Zip returns a .zip of entries (files, folders and symlinks).
func Zip(entries ...Entry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate}
		switch e.Type {
		case tar.TypeSymlink:
			h.SetMode(fs.ModeSymlink | 0o777)
		case tar.TypeDir:
			h.SetMode(fs.ModeDir | 0o755)
		default:
			h.SetMode(0o644)
		}
		w, err := zw.CreateHeader(h)
		must(err)
		switch e.Type {
		case tar.TypeSymlink:
			_, err = io.WriteString(w, e.Link)
		case tar.TypeReg:
			_, err = io.Copy(w, e.body())
		}
		must(err)
	}
	must(zw.Close())
	return buf.Bytes()
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
