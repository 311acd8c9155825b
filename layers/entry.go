package layers

import (
	"archive/tar"
	"fmt"
	"path"
	"sort"
	"strings"
)

// Entry is one file, directory or symlink of a layer, as it will appear in
// the tar stream. Names are relative to the image root, without a leading
// slash and without a trailing one ("nix/store/<hash>-hello/bin/hello").
//
// The content of a regular file comes from Source (a file on disk, read when
// the layer is written) or, when Source is empty, from Data.
type Entry struct {
	Name string `json:"name"`
	// Type is tar.TypeDir, tar.TypeReg or tar.TypeSymlink; what a root
	// script made (package rootscript) can also be tar.TypeLink (a hard
	// link to Linkname, an earlier entry of the same layer), tar.TypeChar,
	// tar.TypeBlock or tar.TypeFifo.
	Type     byte   `json:"type"`
	Mode     int64  `json:"mode"`
	Uid      int    `json:"uid,omitempty"`
	Gid      int    `json:"gid,omitempty"`
	Uname    string `json:"uname,omitempty"`
	Gname    string `json:"gname,omitempty"`
	Linkname string `json:"linkname,omitempty"` // symlink target, kept as it is
	Size     int64  `json:"size,omitempty"`     // size of a regular file
	Source   string `json:"source,omitempty"`   // path on disk of a regular file's content
	Data     []byte `json:"data,omitempty"`     // content of a regular file when Source is empty
	Devmajor int64  `json:"devmajor,omitempty"` // of a device node
	Devminor int64  `json:"devminor,omitempty"`
}

// Dir returns a directory entry owned by root with the given mode.
func Dir(name string, mode int64) Entry {
	return Entry{Name: name, Type: tar.TypeDir, Mode: mode, Uname: "root", Gname: "root"}
}

// File returns a regular file entry owned by root holding data.
func File(name string, mode int64, data []byte) Entry {
	return Entry{Name: name, Type: tar.TypeReg, Mode: mode, Size: int64(len(data)), Data: data, Uname: "root", Gname: "root"}
}

// Symlink returns a symlink entry owned by root.
func Symlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeSymlink, Mode: 0o777, Linkname: target, Uname: "root", Gname: "root"}
}

// CleanName turns an image path ("/etc/passwd", "./etc//passwd") into the
// canonical entry name ("etc/passwd"). It rejects names that leave the root.
func CleanName(p string) (string, error) {
	c := path.Clean("/" + p)
	if strings.Contains(p, "..") {
		for _, part := range strings.Split(p, "/") {
			if part == ".." {
				return "", fmt.Errorf("path %q leaves the image root", p)
			}
		}
	}
	if c == "/" {
		return "", fmt.Errorf("path %q names the image root", p)
	}
	return c[1:], nil
}

// Sort orders entries for writing: the nix and nix/store directories first,
// then by name compared component by component, so that a directory always
// comes before its contents.
func Sort(entries []Entry) {
	sort.SliceStable(entries, func(i, j int) bool { return Less(entries[i].Name, entries[j].Name) })
}

// Less reports whether an entry named a is written before one named b: the
// order of Sort.
func Less(a, b string) bool {
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra < rb
	}
	return lessPath(a, b)
}

// rank puts the directories of the default store, nix and nix/store, before
// every other entry, as nixpkgs' layers have them. Another store directory
// (see StoreDirs) sorts by name, parents first as every directory does.
func rank(name string) int {
	switch name {
	case "nix":
		return 0
	case "nix/store":
		return 1
	}
	return 2
}

// lessPath compares slash-separated paths component by component, so "a/b"
// sorts before "a-b" (a byte-wise sort would interleave them).
func lessPath(a, b string) bool {
	for {
		ai, bi := strings.IndexByte(a, '/'), strings.IndexByte(b, '/')
		ac, bc := a, b
		if ai >= 0 {
			ac = a[:ai]
		}
		if bi >= 0 {
			bc = b[:bi]
		}
		if ac != bc {
			return ac < bc
		}
		if ai < 0 || bi < 0 {
			return ai < 0 && bi >= 0
		}
		a, b = a[ai+1:], b[bi+1:]
	}
}
