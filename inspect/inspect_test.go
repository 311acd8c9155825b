package inspect

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nixlayer/nixlayer/image/base"
)

func TestStorePathsFromComment(t *testing.T) {
	for _, tc := range []struct {
		name  string
		h     v1.History
		paths []string
		ok    bool
	}{
		{"one path", v1.History{CreatedBy: "nixlayer", Comment: "store paths: /nix/store/a-x"}, []string{"/nix/store/a-x"}, true},
		{"paths and contents", v1.History{CreatedBy: "nixlayer", Comment: "store paths: /nix/store/a-x /nix/store/b-y; contents at the image root"}, []string{"/nix/store/a-x", "/nix/store/b-y"}, true},
		{"nixlayer layer without paths", v1.History{CreatedBy: "nixlayer", Comment: "Nix database registering 3 store paths"}, []string{}, true},
		{"foreign layer", v1.History{CreatedBy: "/bin/sh -c apk add", Comment: "store paths: /nix/store/a-x"}, nil, false},
		{"no history", v1.History{}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			paths, ok := StorePathsFromComment(tc.h)
			if ok != tc.ok || !reflect.DeepEqual(paths, tc.paths) {
				t.Errorf("got %q, %v; want %q, %v", paths, ok, tc.paths, tc.ok)
			}
		})
	}
}

// layerTar makes a tar holding the named entries (directories end in /).
func layerTar(t *testing.T, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o644, Typeflag: tar.TypeReg}
		if strings.HasSuffix(n, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestStorePathsInTar(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []string
		want    []string
	}{
		{"nix layout", []string{"nix/", "nix/store/", "nix/store/b-y/", "nix/store/b-y/bin/sh", "nix/store/a-x"}, []string{"/nix/store/a-x", "/nix/store/b-y"}},
		{"dot and slash prefixes", []string{"./nix/store/a-x/f", "/nix/store/b-y/g"}, []string{"/nix/store/a-x", "/nix/store/b-y"}},
		{"no store", []string{"etc/", "etc/passwd", "nix/var/nix/db/db.sqlite"}, []string{}},
		{"whiteout is no path", []string{"nix/store/.wh.a-x"}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := StorePathsInTar(bytes.NewReader(layerTar(t, tc.entries...)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := StorePathsInTar(strings.NewReader(strings.Repeat("x", 600))); err == nil {
		t.Error("a tar that is not one gave no error")
	}
}

// TestInspectForeignArchive inspects a docker-archive made by
// go-containerregistry (no nixlayer history): store paths come from the
// layers' tars, digests and sizes from the manifest.
func TestInspectForeignArchive(t *testing.T) {
	var img v1.Image = empty.Image
	for _, names := range [][]string{
		{"nix/", "nix/store/", "nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-busybox/bin/sh"},
		{"etc/passwd"},
	} {
		data := layerTar(t, names...)
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "img.tar")
	if err := tarball.WriteToFile(path, name.MustParseReference("foreign:1"), img); err != nil {
		t.Fatal(err)
	}
	r, err := Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := img.Layers()
	if len(r.Layers) != len(ls) {
		t.Fatalf("%d layers, want %d", len(r.Layers), len(ls))
	}
	for i, l := range ls {
		d, _ := l.Digest()
		size, _ := l.Size()
		if r.Layers[i].Digest != d.String() || r.Layers[i].Size != size || r.Layers[i].StorePathsFrom != "tar" {
			t.Errorf("layer %d: %+v, want digest %s size %d from tar", i+1, r.Layers[i], d, size)
		}
	}
	if want := []string{"/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-busybox"}; !reflect.DeepEqual(r.Layers[0].StorePaths, want) {
		t.Errorf("layer 1 store paths %q, want %q", r.Layers[0].StorePaths, want)
	}
	if len(r.Layers[1].StorePaths) != 0 {
		t.Errorf("layer 2 store paths %q, want none", r.Layers[1].StorePaths)
	}
	var table, js bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-busybox") || !strings.Contains(table.String(), "foreign:1") {
		t.Errorf("table lacks the store path or reference:\n%s", table.String())
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not read back: %v\n%s", err, js.String())
	}
	if !reflect.DeepEqual(back.Layers, r.Layers) {
		t.Errorf("JSON layers differ after a round trip")
	}
}

func TestInspectMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.tar")
	_, err := Inspect(missing)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("error %v does not name %s", err, missing)
	}
}

// TestInspectLimits: inspect reads foreign layers with the walk's limits,
// shared by all layers: entries (an uncapped set of names before), and
// decompressed bytes.
func TestInspectLimits(t *testing.T) {
	var img v1.Image = empty.Image
	for l := range 2 {
		var names []string
		for i := range 600 {
			names = append(names, fmt.Sprintf("nix/store/%032d-p%d-%d", i, l, i))
		}
		data := layerTar(t, names...)
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "img.tar")
	if err := tarball.WriteToFile(path, name.MustParseReference("many:1"), img); err != nil {
		t.Fatal(err)
	}
	if r, err := Inspect(path); err != nil || len(r.Layers[1].StorePaths) != 600 {
		t.Fatalf("within the limits: %v", err)
	}
	for _, tt := range []struct {
		name string
		lim  base.Limits
		want string
	}{
		{"entries of all layers", base.Limits{MaxEntries: 1000}, "more than 1000 entries in all layers"},
		{"bytes of all layers", base.Limits{MaxBytes: 600 * 1024}, "exceeds 614400 bytes"},
		{"names", base.Limits{MaxNameBytes: 40000}, "names"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Inspect(path, base.WithLimits(tt.lim))
			if !errors.Is(err, base.ErrLimit) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrLimit containing %q", err, tt.want)
			}
		})
	}
}
