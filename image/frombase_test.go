package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	imgformat "github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/image"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/spec"
)

// baseEntry is one entry of a crafted base layer.
type baseEntry struct {
	name, link, body string
	typ              byte
}

// craftedBase writes a docker-archive of one layer holding entries.
func craftedBase(t *testing.T, entries ...baseEntry) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o755, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, e.body)
	}
	tw.Close()
	b := buf.Bytes()
	return testutil.OneLayerArchive(t, "base:v1", func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
}

// TestHostileBase: a base whose /nix is a symlink is refused, naming the
// link (our store paths would replace it, and those the base has behind it
// would be missing from the image); a base whose /etc/passwd is reached
// through symlinks passes a valid config.User.
func TestHostileBase(t *testing.T) {
	s := newTestStore(t)
	bb := filepath.Base(s.busybox)
	// The test store is <tmp>/nix/store, and so it is in the image.
	nix := strings.TrimPrefix(filepath.Dir(s.dir), "/")
	tests := []struct {
		name    string
		entries []baseEntry
		user    string
		want    []string // error substrings; none: the build succeeds
	}{
		{"nix is a symlink", []baseEntry{
			{name: "opt/nix/store/" + bb + "/bin/busybox", typ: tar.TypeReg, body: "not really busybox\n"},
			{name: nix, link: "opt/nix", typ: tar.TypeSymlink},
		}, "", []string{"/" + nix + " as a symlink", `"opt/nix"`}},
		{"nix/store is a symlink", []baseEntry{
			{name: nix + "/", typ: tar.TypeDir},
			{name: nix + "/store", link: "/gnu/store", typ: tar.TypeSymlink},
		}, "", []string{"/" + nix + "/store as a symlink", `"/gnu/store"`}},
		{"nix is a file", []baseEntry{{name: nix, typ: tar.TypeReg, body: "x"}}, "", []string{"/" + nix + ", which is not a directory"}},
		{"passwd through symlinks", []baseEntry{
			{name: "usr/lib/passwd", typ: tar.TypeReg, body: "app:x:1000:1000::/:/bin/sh\n"},
			{name: "usr/etc/", typ: tar.TypeDir},
			{name: "usr/etc/passwd", link: "/usr/lib/passwd", typ: tar.TypeSymlink},
			{name: "etc", link: "usr/etc", typ: tar.TypeSymlink},
		}, "app", nil},
		{"passwd to the host's", []baseEntry{
			{name: "etc/", typ: tar.TypeDir},
			{name: "etc/passwd", link: "/etc/passwd", typ: tar.TypeSymlink},
		}, "root", []string{"/etc/passwd", "more than 40 symlinks"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := helloSpec(s, imgformat.DockerArchive, layers.Gzip)
			sp.FromImage = craftedBase(t, tt.entries...)
			if tt.user != "" {
				sp.Config = []byte(`{"Cmd":["/bin/hello"],"User":"` + tt.user + `"}`)
			}
			req := &image.Request{Spec: sp, Graph: s.graph, Out: filepath.Join(t.TempDir(), "image"), Env: spec.Env{DefaultTag: "latest", TempDir: t.TempDir()}}
			err := image.Build(context.Background(), req)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			testutil.WantErr(t, err, tt.want...)
		})
	}
}
