package base

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzLimits keep fuzzing fast.
var fuzzLimits = WithLimits(Limits{MaxBytes: 4 << 20, MaxEntries: 2000, MaxNameBytes: 1 << 20})

// checkIndex asserts the invariants of a flattened filesystem.
func checkIndex(t *testing.T, x *Index) {
	t.Helper()
	prev := ""
	for _, f := range x.Files() {
		if f.Path == "" || strings.HasPrefix(f.Path, "/") || strings.Contains("/"+f.Path+"/", "/../") ||
			strings.Contains("/"+f.Path+"/", "/./") || strings.Contains(f.Path, "//") {
			t.Fatalf("unclean path %q", f.Path)
		}
		if strings.Contains("/"+f.Path, "/.wh.") {
			t.Fatalf("whiteout %q left in the tree", f.Path)
		}
		if prev != "" && !lessOrParent(prev, f.Path) {
			t.Fatalf("%q listed after %q", f.Path, prev)
		}
		prev = f.Path
	}
}

// lessOrParent reports whether a sorts before b component by component.
func lessOrParent(a, b string) bool {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
}

// checkFlatten asserts that an image whose Index succeeds has a clean
// index (checkIndex) and flattens.
func checkFlatten(t *testing.T, img *Image) {
	t.Helper()
	x, err := img.Index()
	if err != nil {
		return
	}
	checkIndex(t, x)
	if err := Flatten(img, io.Discard, time.Unix(1, 0)); err != nil {
		t.Fatalf("Index succeeded but Flatten failed: %v", err)
	}
}

func fuzzFile(t *testing.T, data []byte) string {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzOpen feeds any bytes as an image archive file.
func FuzzOpen(f *testing.F) {
	s := layersOf(sampleLayers(f)...)
	f.Add(s.docker(f))
	f.Add(s.legacy(f))
	f.Add(s.ociArchive(f))
	f.Add(compressWith(f, gzipped, s.docker(f)))
	f.Add(compressWith(f, zstded, s.ociArchive(f)))
	f.Add(compressWith(f, xzed, s.legacy(f)))
	maxXzDict, maxZstdWindow = 8<<20, 8<<20
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Open(fuzzFile(t, data), fuzzLimits, WithTempDir(t.TempDir()))
		if err != nil {
			return
		}
		defer img.Close()
		checkFlatten(t, img)
	})
}

// FuzzWalk feeds any bytes as the one layer of an otherwise valid image.
func FuzzWalk(f *testing.F) {
	for _, l := range sampleLayers(f) {
		f.Add(l)
	}
	f.Add(compressWith(f, gzipped, sampleLayers(f)[0]))
	f.Add(tarOf(f, sym("a", "../.."), reg("a/b", "x"), hard("c", "a/b"), reg(".wh.a", ""), dir("d/"), reg("d/.wh..wh..opq", "")))
	f.Add(gnuSparse(f))
	f.Fuzz(func(t *testing.T, layer []byte) {
		// The diffID is that of the decompressed stream, when there is one.
		tarBytes := layer
		if c, r, err := peek(bytes.NewReader(layer)); err == nil && c != xzed {
			if d, err := decompress(r, c); err == nil {
				b, err := io.ReadAll(io.LimitReader(d, 8<<20))
				if err != nil {
					return
				}
				tarBytes = b
			}
		}
		img, err := Open(fuzzFile(t, spec{layers: [][]byte{layer}, tars: [][]byte{tarBytes}}.docker(t)), fuzzLimits, WithTempDir(t.TempDir()))
		if err != nil {
			t.Fatalf("Open of a well-formed archive: %v", err)
		}
		defer img.Close()
		err = img.Walk(func(_ int, hdr *tar.Header, r io.Reader) error {
			if c, err := cleanEntryName(hdr.Name); err != nil || c != hdr.Name || c == "" {
				t.Fatalf("Walk passed unclean name %q", hdr.Name)
			}
			_, err := io.Copy(io.Discard, r)
			return err
		})
		if err != nil {
			return
		}
		checkFlatten(t, img)
	})
}

// FuzzWhiteout applies a script of entries to the tree: one entry a line,
// "<type> <name> [<target>]" with type f (file), d (dir), s (symlink),
// h (hard link), or a line "-" starting the next layer. Whiteouts are
// files named .wh.*.
func FuzzWhiteout(f *testing.F) {
	f.Add("d a\nf a/x\nf a/y\ns b a\n-\nf a/.wh.x\nf b/.wh.y\n-\nd a\nf a/.wh..wh..opq\nf a/z")
	f.Add("s bin usr/bin\nf bin/sh\n-\nf usr/.wh.bin\nd bin\nf bin/.wh..wh..opq")
	f.Add("f x\nh y x\n-\nf .wh.x\nh z y\ns l /l\nf l/.wh.q")
	f.Add("s a ../../a\nf a/.wh.b\nd a/b/c\n-\nf a/.wh..wh..opq")
	f.Fuzz(func(t *testing.T, script string) {
		x := &Index{t: newTree(5000)}
		layer := 0
		for _, line := range strings.Split(script, "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			if fields[0] == "-" {
				layer++
				continue
			}
			if len(fields) < 2 {
				continue
			}
			hdr := &tar.Header{Name: fields[1], Mode: 0o644}
			if len(fields) > 2 {
				hdr.Linkname = fields[2]
			}
			switch fields[0] {
			case "f":
				hdr.Typeflag = tar.TypeReg
			case "d":
				hdr.Typeflag = tar.TypeDir
			case "s":
				hdr.Typeflag = tar.TypeSymlink
			case "h":
				hdr.Typeflag = tar.TypeLink
			default:
				continue
			}
			if skip, err := cleanHeader(hdr); err != nil || skip {
				continue
			}
			if err := x.apply(layer, hdr, strings.NewReader("")); err != nil {
				continue
			}
		}
		checkIndex(t, x)
	})
}
