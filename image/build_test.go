package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/spec"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	imgformat "github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/image"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/registration"
)

// testStore is a small closure in a store directory under t.TempDir():
// hello (a script, data files, a symlink into busybox) depends on busybox.
type testStore struct {
	dir     string // the store directory, <tmp>/nix/store
	busybox string
	hello   string
	graph   *registration.Graph
}

func newTestStore(t *testing.T) *testStore {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "nix", "store")
	s := &testStore{
		dir:     dir,
		busybox: filepath.Join(dir, "0c9hsfcbdnvywwclq1xxd1wbbi6ngvyd-busybox"),
		hello:   filepath.Join(dir, "1b9p07z77phvv2hf6gm9f28syp39f1ag-hello-1.0"),
	}
	files := []struct {
		path, data, link string
		mode             os.FileMode
	}{
		{path: s.busybox + "/bin/busybox", data: "not really busybox\n", mode: 0o555},
		{path: s.busybox + "/bin/sh", link: "busybox"},
		{path: s.hello + "/bin/hello", data: "#!" + s.busybox + "/bin/sh\necho Hello from nixlayer\n", mode: 0o555},
		{path: s.hello + "/share/hello/data.txt", data: "data\n", mode: 0o444},
		{path: s.hello + "/share/hello/empty", mode: 0o444},
		{path: s.hello + "/share/hello/emptydir/"},
		{path: s.hello + "/libexec", link: s.busybox + "/bin"},
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case strings.HasSuffix(f.path, "/"):
			err = os.MkdirAll(f.path, 0o755)
		case f.link != "":
			err = os.Symlink(f.link, f.path)
		default:
			err = os.WriteFile(f.path, []byte(f.data), 0o644)
			if err == nil {
				err = os.Chmod(f.path, f.mode)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Directories read-only, as in a real store.
	for _, root := range []string{s.busybox, s.hello} {
		var dirs []string
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return err
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Chmod(dirs[i], 0o555); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			for _, d := range dirs {
				os.Chmod(d, 0o755)
			}
		})
	}
	var err error
	s.graph, err = registration.NewGraph(dir, []registration.PathInfo{
		{Path: s.hello, References: []string{s.busybox, s.hello}},
		{Path: s.busybox},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// helloSpec is the sp of the round-trip image.
func helloSpec(s *testStore, format imgformat.Format, c layers.Compression) *spec.Spec {
	return &spec.Spec{
		Name:        "hello",
		Tag:         ptr("v1"),
		Contents:    []string{s.hello},
		Config:      json.RawMessage(`{"Cmd":["/bin/hello"],"Env":["PATH=/bin","GREETING=hi there"]}`),
		Format:      string(format),
		Compression: string(c),
	}
}

// build runs image.Build and returns the output path, in a fresh directory.
func build(t *testing.T, s *testStore, sp *spec.Spec, sourceDateEpoch string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "image")
	req := &image.Request{Spec: sp, Graph: s.graph, Out: out, Env: spec.Env{DefaultTag: "latest", SourceDateEpoch: sourceDateEpoch, TempDir: t.TempDir()}}
	if err := image.Build(context.Background(), req); err != nil {
		t.Fatalf("Build: %v", err)
	}
	return out
}

// readBack opens a built image with go-containerregistry and returns it with
// the tag it is known by in the archive or layout.
func readBack(t *testing.T, format imgformat.Format, c layers.Compression, out string) (v1.Image, string) {
	t.Helper()
	switch format {
	case imgformat.DockerArchive:
		m, err := tarball.LoadManifest(openFile(out))
		if err != nil || len(m) != 1 || len(m[0].RepoTags) != 1 {
			t.Fatalf("manifest.json of %s: %v, %+v", out, err, m)
		}
		tag, err := name.NewTag(m[0].RepoTags[0])
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(out, &tag)
		if err != nil {
			t.Fatalf("tarball.ImageFromPath: %v", err)
		}
		return img, m[0].RepoTags[0]
	case imgformat.OCIArchive:
		dir := t.TempDir()
		untar(t, out, dir)
		return readLayout(t, dir, c)
	}
	return readLayout(t, out, c)
}

func readLayout(t *testing.T, dir string, c layers.Compression) (v1.Image, string) {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("layout.ImageIndexFromPath: %v", err)
	}
	if err := validate.Index(idx, validateOptions(c)...); err != nil {
		t.Errorf("validate.Index: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("index has %d manifests, want 1", len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img, im.Manifests[0].Annotations["org.opencontainers.image.ref.name"]
}

// walkTar calls fn for every entry of the tar stream that open returns,
// with the entry's content.
func walkTar(t *testing.T, open func() (io.ReadCloser, error), fn func(h *tar.Header, content io.Reader)) {
	t.Helper()
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("reading tar: %v", err)
		}
		fn(h, tr)
	}
}

func openFile(path string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return os.Open(path) }
}

// untar unpacks an oci-archive, checking the rules its entries follow.
func untar(t *testing.T, archive, dir string) {
	t.Helper()
	var names []string
	walkTar(t, openFile(archive), func(h *tar.Header, content io.Reader) {
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(time.Unix(1, 0)) || strings.Contains(h.Name, "..") || strings.HasPrefix(h.Name, "/") {
			t.Errorf("oci-archive entry %s: owner %d:%d, mtime %v", h.Name, h.Uid, h.Gid, h.ModTime)
		}
		p := filepath.Join(dir, h.Name)
		var err error
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, 0o755)
		case tar.TypeReg:
			var data []byte
			if data, err = io.ReadAll(content); err == nil {
				err = os.WriteFile(p, data, 0o644)
			}
		default:
			t.Fatalf("oci-archive entry %s of type %c", h.Name, h.Typeflag)
		}
		if err != nil {
			t.Fatal(err)
		}
	})
	for _, want := range []string{"oci-layout", "index.json", "blobs/", "blobs/sha256/"} {
		if !contains(names, want) {
			t.Errorf("oci-archive has no %s: %q", want, names)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

var (
	allFormats      = []imgformat.Format{imgformat.DockerArchive, imgformat.OCILayout, imgformat.OCIArchive}
	allCompressions = []layers.Compression{layers.Gzip, layers.Zstd, layers.None}
)

// TestBuildRoundTrip builds the test closure in every format and
// compression, reads it back with go-containerregistry and validates it.
func TestBuildRoundTrip(t *testing.T) {
	s := newTestStore(t)
	var diffID v1.Hash
	for _, format := range allFormats {
		for _, c := range allCompressions {
			t.Run(string(format)+"/"+string(c), func(t *testing.T) {
				out := build(t, s, helloSpec(s, format, c), "")
				img, tag := readBack(t, format, c, out)
				validateImage(t, img, c)
				wantTag := "v1"
				if format == imgformat.DockerArchive {
					wantTag = "hello:v1"
				}
				if tag != wantTag {
					t.Errorf("tagged %q, want %q", tag, wantTag)
				}
				checkConfig(t, img)
				checkMediaTypes(t, img, format, c)
				d := checkLayer(t, img, s, time.Unix(1, 0))
				if diffID.Hex == "" {
					diffID = d
				} else if d != diffID {
					t.Errorf("diffID %s differs from the first build's %s: the layer tar must not depend on format or compression", d, diffID)
				}
			})
		}
	}
}

// validateImage runs validate.Image. Its layer check reads every blob as
// gzip, so for other compressions it checks the manifest and config only
// (validate.Fast) and the layers' digests, sizes and diffIDs are checked
// here, through the blob and its decompressed stream.
func validateImage(t *testing.T, img v1.Image, c layers.Compression) {
	t.Helper()
	if err := validate.Image(img, validateOptions(c)...); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range ls {
		digest, size := hashStream(t, l.Compressed)
		diffID, _ := hashStream(t, l.Uncompressed)
		d, _ := l.Digest()
		id, _ := l.DiffID()
		n, _ := l.Size()
		if d.Hex != digest || id.Hex != diffID || n != size || cf.RootFS.DiffIDs[i] != id {
			t.Errorf("layer %d: digest %s size %d diffID %s (config %s); the blob has sha256 %s and %d bytes, its tar sha256 %s",
				i, d.Hex, n, id.Hex, cf.RootFS.DiffIDs[i].Hex, digest, size, diffID)
		}
	}
}

func validateOptions(c layers.Compression) []validate.Option {
	if c != layers.Gzip {
		return []validate.Option{validate.Fast}
	}
	return nil
}

func hashStream(t *testing.T, open func() (io.ReadCloser, error)) (string, int64) {
	t.Helper()
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil)), n
}

func checkConfig(t *testing.T, img v1.Image) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "amd64" || cf.OS != "linux" || cf.Variant != "" {
		t.Errorf("platform %s/%s/%s, want amd64/linux", cf.Architecture, cf.OS, cf.Variant)
	}
	if !cf.Created.Time.Equal(time.Unix(1, 0)) {
		t.Errorf("created %v, want 1970-01-01T00:00:01Z", cf.Created.Time)
	}
	if !reflect.DeepEqual(cf.Config.Cmd, []string{"/bin/hello"}) || !reflect.DeepEqual(cf.Config.Env, []string{"PATH=/bin", "GREETING=hi there"}) {
		t.Errorf("config Cmd %q Env %q", cf.Config.Cmd, cf.Config.Env)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if cf.RootFS.Type != "layers" || len(cf.RootFS.DiffIDs) != len(ls) || len(ls) != 1 {
		t.Errorf("rootfs %+v for %d layers; want one diff_id per layer, one layer", cf.RootFS, len(ls))
	}
	if len(cf.History) != len(ls) {
		t.Errorf("%d history entries for %d layers", len(cf.History), len(ls))
	}
	for _, h := range cf.History {
		if h.EmptyLayer || !h.Created.Time.Equal(time.Unix(1, 0)) || h.CreatedBy == "" || !strings.Contains(h.Comment, "store paths:") {
			t.Errorf("history entry %+v", h)
		}
	}
}

func checkMediaTypes(t *testing.T, img v1.Image, format imgformat.Format, c layers.Compression) {
	t.Helper()
	mt, err := img.MediaType()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	wantManifest, wantConfig := types.DockerManifestSchema2, types.DockerConfigJSON
	if format.OCI() {
		wantManifest, wantConfig = types.OCIManifestSchema1, types.OCIConfigJSON
	}
	if mt != wantManifest || m.Config.MediaType != wantConfig {
		t.Errorf("manifest %s, config %s; want %s, %s", mt, m.Config.MediaType, wantManifest, wantConfig)
	}
	if format == imgformat.DockerArchive {
		return // manifest.json has no layer media types: ggcr guesses them
	}
	for _, l := range m.Layers {
		if want := c.MediaType(true); l.MediaType != want {
			t.Errorf("layer media type %s, want %s", l.MediaType, want)
		}
	}
}

// checkLayer reads the single layer back and checks what it holds.
func checkLayer(t *testing.T, img v1.Image, s *testStore, mtime time.Time) v1.Hash {
	t.Helper()
	ls, err := img.Layers()
	if err != nil || len(ls) != 1 {
		t.Fatalf("%d layers, %v", len(ls), err)
	}
	got := map[string]*tar.Header{}
	var order []string
	walkTar(t, ls[0].Uncompressed, func(h *tar.Header, _ io.Reader) {
		n := strings.TrimSuffix(h.Name, "/")
		got[n], order = h, append(order, n)
		if !h.ModTime.Equal(mtime) || h.Uid != 0 || h.Gid != 0 || h.Uname != "root" {
			t.Errorf("%s: mtime %v owner %d:%d %s", n, h.ModTime, h.Uid, h.Gid, h.Uname)
		}
	})
	// The store paths are where they are on this machine: under the test
	// store directory, not /nix/store.
	store := strings.TrimPrefix(s.dir, "/")
	hello := store + "/" + filepath.Base(s.hello)
	bb := store + "/" + filepath.Base(s.busybox)
	want := map[string]struct {
		typ  byte
		mode int64
		link string
	}{
		"bin":                  {tar.TypeDir, 0o555, ""},
		"bin/hello":            {tar.TypeReg, 0o555, ""},
		"share/hello/data.txt": {tar.TypeReg, 0o444, ""},
		"share/hello/emptydir": {tar.TypeDir, 0o555, ""},
		// A symlink to a directory is copied as it (dockerTools' rsync -k).
		"libexec":                            {tar.TypeDir, 0o555, ""},
		"libexec/busybox":                    {tar.TypeReg, 0o555, ""},
		"libexec/sh":                         {tar.TypeSymlink, 0o777, "busybox"},
		hello:                                {tar.TypeDir, 0o555, ""},
		hello + "/bin/hello":                 {tar.TypeReg, 0o555, ""},
		hello + "/share/hello/empty":         {tar.TypeReg, 0o444, ""},
		hello + "/share/hello/emptydir":      {tar.TypeDir, 0o555, ""},
		hello + "/libexec":                   {tar.TypeSymlink, 0o777, s.busybox + "/bin"},
		bb + "/bin/busybox":                  {tar.TypeReg, 0o555, ""},
		bb + "/bin/sh":                       {tar.TypeSymlink, 0o777, "busybox"},
		"var/lib/db/sbom":                    {tar.TypeDir, 0o755, ""},
		"var/lib/db/sbom/nixlayer.spdx.json": {tar.TypeReg, 0o644, ""},
		"var/lib/db/sbom/nixlayer.cdx.json":  {tar.TypeReg, 0o644, ""},
	}
	var storeDirs []string
	for _, d := range layers.StoreDir(s.dir) {
		want[d.Name] = struct {
			typ  byte
			mode int64
			link string
		}{tar.TypeDir, 0o755, ""}
		storeDirs = append(storeDirs, d.Name)
	}
	for n, w := range want {
		h, ok := got[n]
		if !ok {
			t.Errorf("layer has no %s", n)
			continue
		}
		if h.Typeflag != w.typ || h.Mode != w.mode || h.Linkname != w.link {
			t.Errorf("%s: type %c mode %o link %q; want %c %o %q", n, h.Typeflag, h.Mode, h.Linkname, w.typ, w.mode, w.link)
		}
	}
	wantOrder := append(storeDirs, "bin", "bin/hello", "libexec", "libexec/busybox", "libexec/sh",
		bb, bb+"/bin", bb+"/bin/busybox", bb+"/bin/sh",
		hello, hello+"/bin", hello+"/bin/hello", hello+"/libexec", hello+"/share", hello+"/share/hello",
		hello+"/share/hello/data.txt", hello+"/share/hello/empty", hello+"/share/hello/emptydir",
		"share", "share/hello", "share/hello/data.txt", "share/hello/empty", "share/hello/emptydir",
		"var", "var/lib", "var/lib/db", "var/lib/db/sbom", "var/lib/db/sbom/nixlayer.cdx.json", "var/lib/db/sbom/nixlayer.spdx.json")
	// Sorted component by component (where the test store sorts depends
	// on the temporary directory's name).
	slices.SortStableFunc(wantOrder, func(a, b string) int { return slices.Compare(strings.Split(a, "/"), strings.Split(b, "/")) })
	if !reflect.DeepEqual(order, wantOrder) {
		t.Errorf("layer entries\n got %q\nwant %q", order, wantOrder)
	}
	d, err := ls[0].DiffID()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestBuildReproducible: two builds of the same request give the same bytes,
// in every format.
func TestBuildReproducible(t *testing.T) {
	s := newTestStore(t)
	for _, format := range allFormats {
		t.Run(string(format), func(t *testing.T) {
			a := testutil.Tree(t, build(t, s, helloSpec(s, format, layers.Gzip), ""))
			b := testutil.Tree(t, build(t, s, helloSpec(s, format, layers.Gzip), ""))
			if !reflect.DeepEqual(a, b) {
				t.Errorf("two builds differ in %v", testutil.TreeDiff(a, b))
			}
		})
	}
}

// TestBuildSettings: the spec's mtime, SOURCE_DATE_EPOCH, uid/gid,
// architecture, created and default tag reach the image.
func TestBuildSettings(t *testing.T) {
	s := newTestStore(t)
	tests := []struct {
		name  string
		edit  func(*spec.Spec)
		sde   string
		mtime int64
		check func(t *testing.T, cf *v1.ConfigFile)
		tag   string
		uid   int
		uname string
	}{
		{name: "mtime", edit: func(sp *spec.Spec) { sp.MTime = ptr(spec.Timestamp("1700000000")) }, mtime: 1700000000},
		{name: "SOURCE_DATE_EPOCH wins", edit: func(sp *spec.Spec) { sp.MTime = ptr(spec.Timestamp("1700000000")) }, sde: "1000", mtime: 1000},
		{name: "uid and gid", edit: func(sp *spec.Spec) { sp.Uid, sp.Gid = 1000, 100 }, mtime: 1, uid: 1000},
		{name: "architecture", edit: func(sp *spec.Spec) { sp.Architecture = "aarch64-linux" }, mtime: 1, check: func(t *testing.T, cf *v1.ConfigFile) {
			if cf.Architecture != "arm64" || cf.Variant != "v8" || cf.OS != "linux" {
				t.Errorf("platform %s/%s/%s, want arm64/v8/linux", cf.Architecture, cf.Variant, cf.OS)
			}
		}},
		{name: "created", edit: func(sp *spec.Spec) { sp.Created = "2024-01-02T03:04:05Z" }, mtime: 1, check: func(t *testing.T, cf *v1.ConfigFile) {
			if want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC); !cf.Created.Time.Equal(want) || !cf.History[0].Created.Time.Equal(want) {
				t.Errorf("created %v, history %v; want %v", cf.Created.Time, cf.History[0].Created.Time, want)
			}
		}},
		{name: "default tag", edit: func(sp *spec.Spec) { sp.Tag = nil; sp.Name = "Hello" }, mtime: 1, tag: "hello:latest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := helloSpec(s, imgformat.DockerArchive, layers.None)
			tt.edit(sp)
			out := build(t, s, sp, tt.sde)
			img, tag := readBack(t, imgformat.DockerArchive, layers.None, out)
			validateImage(t, img, layers.None)
			if want := tt.tag; want != "" && tag != want {
				t.Errorf("tag %q, want %q", tag, want)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, cf)
			}
			ls, _ := img.Layers()
			wantUname := "root"
			if tt.uid != 0 {
				wantUname = ""
			}
			walkTar(t, ls[0].Uncompressed, func(h *tar.Header, _ io.Reader) {
				if h.ModTime.Unix() != tt.mtime || h.Uid != tt.uid || h.Uname != wantUname {
					t.Errorf("%s: mtime %d uid %d uname %q; want %d, %d, %q", h.Name, h.ModTime.Unix(), h.Uid, h.Uname, tt.mtime, tt.uid, wantUname)
				}
			})
		})
	}
}

// TestBuildErrors: a bad request fails with a message naming what is wrong
// and leaves nothing at the output path nor in the temporary directory.
func TestBuildErrors(t *testing.T) {
	s := newTestStore(t)
	missing := filepath.Join(s.dir, "2c9hsfcbdnvywwclq1xxd1wbbi6ngvyd-missing")
	withMissing, err := registration.NewGraph(s.dir, []registration.PathInfo{{Path: s.hello, References: []string{s.busybox}}, {Path: s.busybox}, {Path: missing}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		edit  func(*spec.Spec)
		graph *registration.Graph
		want  []string
	}{
		{name: "Cmd as a string", edit: func(sp *spec.Spec) { sp.Config = json.RawMessage(`{"Cmd":"/bin/hello"}`) }, want: []string{"config.Cmd", "list of strings"}},
		{name: "config not an object", edit: func(sp *spec.Spec) { sp.Config = json.RawMessage(`["/bin/hello"]`) }, want: []string{"config must be an attribute set"}},
		{name: "invalid reference", edit: func(sp *spec.Spec) { sp.Name = "hello world" }, want: []string{`"hello world:v1"`}},
		{name: "unknown architecture", edit: func(sp *spec.Spec) { sp.Architecture = "sparc" }, want: []string{`unknown architecture "sparc"`}},
		{name: "unknown format", edit: func(sp *spec.Spec) { sp.Format = "tar" }, want: []string{`unknown format "tar"`}},
		{name: "unknown compression", edit: func(sp *spec.Spec) { sp.Compression = "bzip2" }, want: []string{`unknown compression "bzip2"`}},
		{name: "bad created", edit: func(sp *spec.Spec) { sp.Created = "yesterday" }, want: []string{`created = "yesterday"`}},
		{name: "negative uid", edit: func(sp *spec.Spec) { sp.Uid = -1 }, want: []string{"uid -1"}},
		{name: "contents not in the closure", edit: func(sp *spec.Spec) { sp.Contents = []string{missing} }, want: []string{missing, "not in the closure"}},
		{name: "store path missing on disk", graph: withMissing, want: []string{missing, "no such file"}},
	}
	for _, tt := range tests {
		for _, format := range allFormats {
			t.Run(tt.name+"/"+string(format), func(t *testing.T) {
				sp := helloSpec(s, format, layers.Gzip)
				if tt.edit != nil {
					tt.edit(sp)
				}
				g := s.graph
				if tt.graph != nil {
					g = tt.graph
				}
				outDir, tmp := t.TempDir(), t.TempDir()
				req := &image.Request{Spec: sp, Graph: g, Out: filepath.Join(outDir, "image"), Env: spec.Env{DefaultTag: "latest", TempDir: tmp}}
				testutil.WantErr(t, image.Build(context.Background(), req), tt.want...)
				for _, dir := range []string{outDir, tmp} {
					if left, _ := os.ReadDir(dir); len(left) != 0 {
						t.Errorf("%s holds %v after a failed build", dir, left)
					}
				}
			})
		}
	}
}

// TestBuildOverwrites: a build over an existing output file replaces it
// whole (the rename is atomic).
func TestBuildOverwrites(t *testing.T) {
	s := newTestStore(t)
	out := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	req := &image.Request{Spec: helloSpec(s, imgformat.DockerArchive, layers.Gzip), Graph: s.graph, Out: out, Env: spec.Env{DefaultTag: "latest", TempDir: t.TempDir()}}
	if err := image.Build(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil || bytes.HasPrefix(data, []byte("old")) {
		t.Fatalf("output not replaced: %v", err)
	}
	left, _ := os.ReadDir(filepath.Dir(out))
	if len(left) != 1 {
		t.Errorf("output directory holds %v", left)
	}
}

// TestBuildOutputBlocked: when the final rename fails (a non-empty
// directory is in the way), the layers and the temporary output are
// removed and the error names the output.
func TestBuildOutputBlocked(t *testing.T) {
	s := newTestStore(t)
	for _, format := range allFormats {
		t.Run(string(format), func(t *testing.T) {
			parent, tmp := t.TempDir(), t.TempDir()
			out := filepath.Join(parent, "image")
			if err := os.MkdirAll(filepath.Join(out, "in-the-way"), 0o755); err != nil {
				t.Fatal(err)
			}
			req := &image.Request{Spec: helloSpec(s, format, layers.Gzip), Graph: s.graph, Out: out, Env: spec.Env{DefaultTag: "latest", TempDir: tmp}}
			testutil.WantErr(t, image.Build(context.Background(), req), out)
			if left, _ := os.ReadDir(parent); len(left) != 1 || left[0].Name() != "image" {
				t.Errorf("%s holds %v after a failed build; want only the directory in the way", parent, left)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("temporary directory holds %v after a failed build", left)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
