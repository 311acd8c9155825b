package layers

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite layers/testdata/golden-* from the current output")

// goldenName is where the golden tree lands in the image.
const goldenName = "nix/store/1b9p07z77phvv2hf6gm9f28syp39f1ag-golden-1.0"

// goldenMTime stamps every entry of the golden layers.
var goldenMTime = time.Unix(1700000000, 0)

var (
	longName = strings.Repeat("n", 120) + ".txt" // a name over 100 bytes: PAX
	deepD    = "share/deep/" + strings.Repeat("d", 60)
	deepE    = deepD + "/" + strings.Repeat("e", 60)
	deepDir  = deepE + "/" + strings.Repeat("f", 60)
	deepFile = deepDir + "/" + strings.Repeat("g", 40) + ".txt" // a path over 255 bytes: PAX
)

// pseudoRandom returns n bytes that depend only on n: sha256 blocks of a
// counter, so that the golden layer holds incompressible data too.
func pseudoRandom(n int) string {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		s := sha256.Sum256([]byte(fmt.Sprint(i)))
		b.Write(s[:])
	}
	return b.String()[:n]
}

// goldenNodes is the fixed tree of the golden layers. README and COPYING
// have the same content and mode, so that a tree in which they are hard
// links must give the same layer.
func goldenNodes(hardLink bool) []treeNode {
	copying := treeNode{path: "share/doc/COPYING", mode: 0o444, data: "Same bytes in two files.\n"}
	if hardLink {
		copying = treeNode{path: "share/doc/COPYING", linkTo: "share/doc/README"}
	}
	return []treeNode{
		{path: "bin", dir: true, mode: 0o555},
		{path: "bin/hello", mode: 0o555, data: "#!/bin/sh\necho hello\n"},
		{path: "bin/hi", target: "hello"},
		{path: "bin/sh", target: "/nix/store/0c9hsfcbdnvywwclq1xxd1wbbi6ngvyd-busybox/bin/busybox"},
		{path: "bin/dangling", target: "../lib/missing.so"},
		{path: "bin/su", mode: 0o4555, data: "setuid\n"},
		{path: "etc", dir: true, mode: 0o755},
		{path: "etc/writable.conf", mode: 0o644, data: "key = value\n"},
		{path: "lib", dir: true, mode: 0o555},
		{path: "lib/libdata.so", mode: 0o444, data: pseudoRandom(100_000) + strings.Repeat("compressible ", 10_000)},
		{path: "share", dir: true, mode: 0o555},
		{path: "share/doc", dir: true, mode: 0o555},
		{path: "share/doc/README", mode: 0o444, data: "Same bytes in two files.\n"},
		copying,
		{path: "share/empty", mode: 0o444},
		{path: "share/emptydir", dir: true, mode: 0o555},
		{path: "share/" + longName, mode: 0o444, data: "long name\n"},
		{path: "share/deep", dir: true, mode: 0o755},
		{path: deepD, dir: true, mode: 0o750},
		{path: deepE, dir: true, mode: 0o711},
		{path: deepDir, dir: true, mode: 0o555},
		{path: deepFile, mode: 0o444, data: "deep path\n"},
		{path: "share/a-b", mode: 0o444, data: "sorts after share/a/\n"},
		{path: "share/a", dir: true, mode: 0o555},
		{path: "share/a/z", mode: 0o444, data: "z\n"},
	}
}

// goldenEntries makes the golden tree in a temporary directory and returns
// its layer entries, merged (parents added, sorted) as a layer is written.
func goldenEntries(t *testing.T, hardLink bool) []Entry {
	t.Helper()
	root := filepath.Join(t.TempDir(), "golden")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	makeTree(t, root, 0o555, goldenNodes(hardLink))
	if hardLink {
		fi, err := os.Stat(filepath.Join(root, "share/doc/README"))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Nlink != 2 {
			t.Fatalf("README has %d links, want 2", st.Nlink)
		}
	}
	entries, err := Tree(root, goldenName)
	if err != nil {
		t.Fatal(err)
	}
	return Merge(entries)
}

// goldenLayer is what testdata/golden-digests.json records for one compression.
type goldenLayer struct {
	DiffID           string `json:"diffID"`
	Digest           string `json:"digest"`
	Size             int64  `json:"size"`
	UncompressedSize int64  `json:"uncompressedSize"`
}

var allCompressions = []Compression{None, Gzip, Zstd}

// writeLayer writes entries with c and returns the blob and its descriptor.
func writeLayer(t *testing.T, entries []Entry, mtime time.Time, c Compression) ([]byte, Descriptor) {
	t.Helper()
	var buf bytes.Buffer
	d, err := WriteFunc(context.Background(), &buf, Entries(entries), Options{MTime: mtime, Compression: c})
	if err != nil {
		t.Fatalf("Write %s: %v", c, err)
	}
	return buf.Bytes(), d
}

// decompress undoes c with decoders independent of the writer's.
func decompress(t *testing.T, blob []byte, c Compression) []byte {
	t.Helper()
	var r io.Reader = bytes.NewReader(blob)
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		if zr.Name != "" || zr.Comment != "" || !zr.ModTime.IsZero() || zr.Extra != nil {
			t.Errorf("gzip header has name %q, comment %q, mtime %v, extra %q; want none", zr.Name, zr.Comment, zr.ModTime, zr.Extra)
		}
		r = zr
	case Zstd:
		zr, err := zstd.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decompressing %s: %v", c, err)
	}
	return data
}

func sha256Hex(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

// TestGolden writes the golden tree with every compression and compares the
// digests with testdata/golden-digests.json and the tar listing with
// testdata/golden-listing.txt. Run with -update-golden to rewrite both after an
// intended change of the layer format.
func TestGolden(t *testing.T) {
	entries := goldenEntries(t, false)
	got := map[Compression]goldenLayer{}
	var tarBytes []byte
	for _, c := range allCompressions {
		t.Run(string(c), func(t *testing.T) {
			blob, d := writeLayer(t, entries, goldenMTime, c)
			tb := decompress(t, blob, c)
			if d.DiffID.Algorithm != "sha256" || d.Digest.Algorithm != "sha256" {
				t.Errorf("algorithms %s, %s; want sha256", d.DiffID.Algorithm, d.Digest.Algorithm)
			}
			if d.DiffID.Hex != sha256Hex(tb) || d.UncompressedSize != int64(len(tb)) {
				t.Errorf("DiffID %s, size %d; the tar has sha256 %s and %d bytes", d.DiffID.Hex, d.UncompressedSize, sha256Hex(tb), len(tb))
			}
			if d.Digest.Hex != sha256Hex(blob) || d.Size != int64(len(blob)) {
				t.Errorf("Digest %s, size %d; the blob has sha256 %s and %d bytes", d.Digest.Hex, d.Size, sha256Hex(blob), len(blob))
			}
			if c == None && d.Digest != d.DiffID {
				t.Errorf("uncompressed layer: digest %s differs from diffID %s", d.Digest, d.DiffID)
			}
			if c != None && d.Size >= d.UncompressedSize {
				t.Errorf("%s blob of %d bytes is not smaller than the tar (%d)", c, d.Size, d.UncompressedSize)
			}
			if tarBytes == nil {
				tarBytes = tb
			} else if !bytes.Equal(tb, tarBytes) {
				t.Errorf("the %s layer holds another tar than the uncompressed one", c)
			}
			got[c] = goldenLayer{DiffID: d.DiffID.Hex, Digest: d.Digest.Hex, Size: d.Size, UncompressedSize: d.UncompressedSize}
		})
	}
	listing := tarListing(t, tarBytes)

	digestsFile := filepath.Join("testdata", "golden-digests.json")
	listingFile := filepath.Join("testdata", "golden-listing.txt")
	if *updateGolden {
		data, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(digestsFile, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(listingFile, []byte(listing), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s and %s", digestsFile, listingFile)
	}
	data, err := os.ReadFile(digestsFile)
	if err != nil {
		t.Fatal(err)
	}
	var want map[Compression]goldenLayer
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("%s: %v", digestsFile, err)
	}
	for _, c := range allCompressions {
		if got[c] != want[c] {
			t.Errorf("%s layer of the golden tree:\n got %+v\nwant %+v (from %s; -update-golden rewrites it)", c, got[c], want[c], digestsFile)
		}
	}
	wantListing, err := os.ReadFile(listingFile)
	if err != nil {
		t.Fatal(err)
	}
	if listing != string(wantListing) {
		t.Errorf("tar listing of the golden layer differs from %s:\n%s", listingFile, listing)
	}
}

// eachTarEntry reads the tar in data and calls fn for every entry with its
// content.
func eachTarEntry(t *testing.T, data []byte, fn func(h *tar.Header, content []byte)) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("reading the layer back: %v", err)
		}
		content, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		fn(h, content)
	}
}

// tarListing reads a layer back with archive/tar, checks the rules every
// layer follows, and returns one line per entry (mode, type, owner, size,
// name, link target) for the golden listing.
func tarListing(t *testing.T, data []byte) string {
	t.Helper()
	var b strings.Builder
	seen := map[string]bool{}
	var prev string
	i := -1
	eachTarEntry(t, data, func(h *tar.Header, content []byte) {
		i++
		name := strings.TrimSuffix(h.Name, "/")
		if (h.Typeflag == tar.TypeDir) != strings.HasSuffix(h.Name, "/") {
			t.Errorf("%s: type %c, and a trailing slash only on directories is expected", h.Name, h.Typeflag)
		}
		switch {
		case i == 0 && name != "nix", i == 1 && name != "nix/store":
			t.Errorf("entry %d is %s; nix and nix/store come first", i, name)
		case i > 1 && !lessPath(prev, name):
			t.Errorf("%s comes after %s: not sorted", name, prev)
		}
		if dir := path.Dir(name); dir != "." && !seen[dir] {
			t.Errorf("%s comes before its parent directory %s", name, dir)
		}
		if strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
			t.Errorf("unsafe name %q", h.Name)
		}
		seen[name] = true
		prev = name
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "root" || h.Gname != "root" {
			t.Errorf("%s: owner %d:%d %s:%s, want 0:0 root:root", name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if !h.ModTime.Equal(goldenMTime) {
			t.Errorf("%s: mtime %v, want %v", name, h.ModTime, goldenMTime)
		}
		if !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: atime %v, ctime %v; want none", name, h.AccessTime, h.ChangeTime)
		}
		for k := range h.PAXRecords {
			if k != "path" && k != "linkpath" && k != "size" {
				t.Errorf("%s: unexpected PAX record %q", name, k)
			}
		}
		if len(h.Name) > 255 && h.PAXRecords["path"] != h.Name {
			t.Errorf("%s: a path over 255 bytes without a PAX path record (format %v)", name, h.Format)
		}
		if h.Devmajor != 0 || h.Devminor != 0 {
			t.Errorf("%s: device numbers %d,%d", name, h.Devmajor, h.Devminor)
		}
		fmt.Fprintf(&b, "%c %05o %d %s", h.Typeflag, h.Mode, h.Size, name)
		if h.Linkname != "" {
			fmt.Fprintf(&b, " -> %s", h.Linkname)
		}
		if h.Typeflag == tar.TypeReg {
			fmt.Fprintf(&b, " sha256:%s", sha256Hex(content)[:16])
		}
		b.WriteString("\n")
	})
	return b.String()
}

// TestGoldenModes checks the exact mode and type of every entry of the
// golden tree against the modes it was made with.
func TestGoldenModes(t *testing.T) {
	blob, _ := writeLayer(t, goldenEntries(t, false), goldenMTime, None)
	want := map[string]struct {
		typ  byte
		mode int64
		link string
		data string
	}{
		"nix":       {typ: tar.TypeDir, mode: 0o755},
		"nix/store": {typ: tar.TypeDir, mode: 0o755},
		goldenName:  {typ: tar.TypeDir, mode: 0o555},
	}
	for _, n := range goldenNodes(false) {
		w := want[goldenName+"/"+n.path]
		w.mode, w.data = int64(n.mode), n.data
		switch {
		case n.dir:
			w.typ = tar.TypeDir
		case n.target != "":
			w.typ, w.link, w.mode = tar.TypeSymlink, n.target, 0o777
		default:
			w.typ = tar.TypeReg
		}
		want[goldenName+"/"+n.path] = w
	}
	got := 0
	eachTarEntry(t, blob, func(h *tar.Header, data []byte) {
		name := strings.TrimSuffix(h.Name, "/")
		w, ok := want[name]
		if !ok {
			t.Errorf("unexpected entry %s", name)
			return
		}
		got++
		if h.Typeflag != w.typ || h.Mode != w.mode || h.Linkname != w.link || string(data) != w.data {
			t.Errorf("%s: type %c mode %04o link %q %d bytes; want type %c mode %04o link %q %d bytes",
				name, h.Typeflag, h.Mode, h.Linkname, len(data), w.typ, w.mode, w.link, len(w.data))
		}
	})
	if got != len(want) {
		t.Errorf("%d entries, want %d", got, len(want))
	}
}

// TestHardLinks: a tree where two files are hard links to one inode gives
// the same bytes as the tree where they are copies, with every compression.
func TestHardLinks(t *testing.T) {
	copies := goldenEntries(t, false)
	links := goldenEntries(t, true)
	for _, c := range allCompressions {
		t.Run(string(c), func(t *testing.T) {
			a, da := writeLayer(t, copies, goldenMTime, c)
			b, db := writeLayer(t, links, goldenMTime, c)
			if !bytes.Equal(a, b) || da != db {
				t.Errorf("hard-linked tree gives %s, copies give %s", db.Digest, da.Digest)
			}
			eachTarEntry(t, decompress(t, b, c), func(h *tar.Header, _ []byte) {
				if h.Typeflag == tar.TypeLink {
					t.Errorf("%s is a hard link entry", h.Name)
				}
			})
		})
	}
}

// TestWriteDeterministic: the same entries give the same bytes whatever the
// mtime's location and sub-second part, and a different mtime changes them.
func TestWriteDeterministic(t *testing.T) {
	entries := []Entry{Dir("nix", 0o755), Dir("nix/store", 0o755), Dir("etc", 0o755), File("etc/motd", 0o644, []byte("hello\n"))}
	base := time.Unix(1234567890, 0).UTC()
	for _, c := range allCompressions {
		t.Run(string(c), func(t *testing.T) {
			ref, _ := writeLayer(t, entries, base, c)
			same := []time.Time{base, base.Add(999 * time.Millisecond), base.In(time.FixedZone("X", 5*3600))}
			for _, m := range same {
				if b, _ := writeLayer(t, entries, m, c); !bytes.Equal(b, ref) {
					t.Errorf("mtime %v gives other bytes than %v", m, base)
				}
			}
			if b, _ := writeLayer(t, entries, base.Add(time.Second), c); bytes.Equal(b, ref) {
				t.Errorf("mtime %v gives the same bytes as %v", base.Add(time.Second), base)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	badSize := File("etc/motd", 0o644, []byte("abc"))
	badSize.Size = 5
	link, fifo := filepath.Join(dir, "link"), filepath.Join(dir, "fifo")
	if err := os.Symlink(small, link); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	source := func(p string, size int64) Entry {
		return Entry{Name: "bin/x", Type: tar.TypeReg, Mode: 0o555, Size: size, Source: p, Uname: "root", Gname: "root"}
	}
	missing := Entry{Name: "bin/y", Type: tar.TypeReg, Mode: 0o555, Size: 1, Source: filepath.Join(dir, "missing"), Uname: "root", Gname: "root"}
	tests := []struct {
		name  string
		entry Entry
		c     Compression
		want  []string
	}{
		{"data shorter than size", badSize, None, []string{"/etc/motd", "3 bytes of data for a size of 5"}},
		{"source shorter than size", source(small, 10), Gzip, []string{small, "/bin/x", "it is 3 bytes, not the 10 it had when the layer was planned"}},
		{"source longer than size", source(small, 2), None, []string{small, "/bin/x", "it is 3 bytes, not the 2 it had when the layer was planned"}},
		{"source a symlink", source(link, 3), None, []string{link, "/bin/x", "symlink, not a regular file"}},
		{"source a FIFO", source(fifo, 0), None, []string{fifo, "/bin/x", "FIFO, not a regular file"}},
		{"missing source", missing, Zstd, []string{filepath.Join(dir, "missing"), "/bin/y"}},
		{"unknown compression", File("a", 0o644, nil), Compression("lz4"), []string{`unknown compression "lz4"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := WriteFunc(context.Background(), io.Discard, Entries([]Entry{tt.entry}), Options{MTime: goldenMTime, Compression: tt.c})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestHeaderPAX: names over 100 bytes, paths over 255 and files over 8 GiB
// (the USTAR size limit) are written with PAX records and read back whole.
func TestHeaderPAX(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
		pax  string // the PAX record that must be present; empty for plain USTAR
	}{
		{"short", File("etc/motd", 0o644, nil), ""},
		{"long name", File("share/"+longName, 0o444, nil), "path"},
		{"long path", File(goldenName+"/"+deepFile, 0o444, nil), "path"},
		{"long symlink target", Symlink("bin/x", "/"+strings.Repeat("t", 150)), "linkpath"},
		{"over 8 GiB", Entry{Name: "big", Type: tar.TypeReg, Mode: 0o444, Size: 8<<30 + 1, Uname: "root", Gname: "root"}, "size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf, goldenMTime)
			if err := w.tw.WriteHeader(w.Header(tt.e)); err != nil {
				t.Fatal(err)
			}
			h, err := tar.NewReader(&buf).Next()
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSuffix(h.Name, "/") != tt.e.Name || h.Size != tt.e.Size || h.Linkname != tt.e.Linkname {
				t.Errorf("read back %q size %d link %q; wrote %q size %d link %q", h.Name, h.Size, h.Linkname, tt.e.Name, tt.e.Size, tt.e.Linkname)
			}
			_, hasPAX := h.PAXRecords[tt.pax]
			switch {
			case tt.pax == "" && len(h.PAXRecords) > 0:
				t.Errorf("PAX records %v for a short entry", h.PAXRecords)
			case tt.pax != "" && (!hasPAX || h.Format&tar.FormatPAX == 0):
				t.Errorf("format %v, PAX records %v; want a PAX %q record", h.Format, h.PAXRecords, tt.pax)
			}
		})
	}
}

// TestWriteBlob checks that WriteBlob writes the bytes WriteFunc writes,
// with the same sizes and no digests.
func TestWriteBlob(t *testing.T) {
	entries := goldenEntries(t, false)
	for _, c := range allCompressions {
		want, wd := writeLayer(t, entries, time.Unix(1, 0), c)
		var got bytes.Buffer
		d, err := WriteBlob(t.Context(), &got, Entries(entries), Options{MTime: time.Unix(1, 0), Compression: c})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) || d.Size != wd.Size || d.UncompressedSize != wd.UncompressedSize {
			t.Errorf("%s: WriteBlob wrote %d bytes (sizes %d/%d), WriteFunc %d (%d/%d)", c, got.Len(), d.Size, d.UncompressedSize, len(want), wd.Size, wd.UncompressedSize)
		}
		if d.Digest.Hex != "" || d.DiffID.Hex != "" {
			t.Errorf("%s: WriteBlob computed digests %s %s", c, d.Digest, d.DiffID)
		}
	}
}
