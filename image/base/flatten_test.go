package base

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// readTar lists a tar as "name type mode uid:gid size [-> link] [content]".
func readTar(t testing.TB, r io.Reader) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		s := h.Name + " " + string(h.Typeflag) + " " + h.ModTime.UTC().Format(time.RFC3339) + " " + h.Uname
		if h.Linkname != "" {
			s += " -> " + h.Linkname
		}
		if len(body) > 0 {
			s += " " + string(body)
		}
		out = append(out, s)
	}
}

func TestFlatten(t *testing.T) {
	ls := [][]byte{
		tarOf(t, dir("usr/"), dir("usr/bin/"), reg("usr/bin/b", "b"), reg("usr/bin/a", "a"), sym("bin", "usr/bin"),
			dir("etc/"), reg("etc/gone", "x"), reg("etc/hosts", "hosts"), special("dev/null", tar.TypeChar)),
		tarOf(t, reg("etc/.wh.gone", ""), hard("etc/hosts2", "etc/hosts"), reg("bin/c", "c"), reg("a-b", "dash")),
	}
	path := file(t, layersOf(ls...).docker(t))
	img, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	mtime := time.Unix(1, 0)
	var one, two bytes.Buffer
	if err := Flatten(img, &one, mtime); err != nil {
		t.Fatal(err)
	}
	if err := Flatten(img, &two, mtime); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(one.Bytes(), two.Bytes()) {
		t.Fatal("two flattenings differ")
	}
	want := []string{
		"./ 5 1970-01-01T00:00:01Z root",
		"./a-b 0 1970-01-01T00:00:01Z root dash",
		"./bin 2 1970-01-01T00:00:01Z root -> usr/bin",
		"./etc/ 5 1970-01-01T00:00:01Z root",
		"./etc/hosts 0 1970-01-01T00:00:01Z root hosts",
		"./etc/hosts2 0 1970-01-01T00:00:01Z root hosts",
		"./usr/ 5 1970-01-01T00:00:01Z root",
		"./usr/bin/ 5 1970-01-01T00:00:01Z root",
		"./usr/bin/a 0 1970-01-01T00:00:01Z root a",
		"./usr/bin/b 0 1970-01-01T00:00:01Z root b",
		"./usr/bin/c 0 1970-01-01T00:00:01Z root c",
	}
	if got := readTar(t, bytes.NewReader(one.Bytes())); !slices.Equal(got, want) {
		t.Errorf("flattened:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Golden digest: the same input gives these bytes on any machine.
	sum := sha256.Sum256(one.Bytes())
	if got, golden := hex.EncodeToString(sum[:]), "1a23f649d41dacd1214116f2edeb4164bcef9506283af0d299da4231dbf15b3d"; got != golden {
		t.Errorf("flattened tar sha256 = %s, want %s", got, golden)
	}
}

func TestExportAtomic(t *testing.T) {
	ls := sampleLayers(t)
	good := file(t, layersOf(ls...).docker(t))
	dst := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := Export(good, dst, time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := readTar(t, f); len(got) != 8 { // "." and 7 files
		t.Errorf("exported %d entries, want 8: %q", len(got), got)
	}
	// A bad image leaves no file behind, not even a temporary one.
	bad := file(t, spec{layers: ls, diffIDs: ls2ids(ls[1], ls[1])}.docker(t))
	dst2 := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := Export(bad, dst2, time.Unix(1, 0)); err == nil {
		t.Fatal("Export of a bad image succeeded")
	}
	if ents, _ := os.ReadDir(filepath.Dir(dst2)); len(ents) != 0 {
		t.Errorf("left files behind: %v", ents)
	}
}

// TestExportLayer writes one layer of a two-layer archive (from the
// bottom, from the top) byte for byte, and refuses a layer the image does
// not have, naming how many it has, leaving nothing at the output.
func TestExportLayer(t *testing.T) {
	l1, l2 := tarOf(t, reg("a", "1")), tarOf(t, reg("b", "2"), dir("d"))
	src := file(t, layersOf(l1, l2).docker(t))
	for _, c := range []struct {
		n    int
		want []byte
		err  string
	}{
		{1, l1, ""}, {-1, l2, ""}, {2, l2, ""}, {-2, l1, ""},
		{3, nil, "has 2 layers: there is no layer 3"}, {-3, nil, "no layer -3"},
	} {
		dst := filepath.Join(t.TempDir(), "layer.tar")
		err := ExportLayer(src, dst, c.n)
		got, rerr := os.ReadFile(dst)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || rerr == nil {
				t.Errorf("layer %d: %v (output: %v), want an error containing %q and no output", c.n, err, rerr, c.err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("layer %d: %v, %d bytes, want %d bytes", c.n, err, len(got), len(c.want))
		}
	}
}
