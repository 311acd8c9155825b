package stream

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/recipe"
	"github.com/nixlayer/nixlayer/spec"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nixlayer/nixlayer/customize"
	"github.com/nixlayer/nixlayer/layers"
)

// TestStreamChecksLayers streams a script after a file of its store path
// changed, in place or in size, and checks for a clear error instead of an
// archive with a layer that does not match its digest.
func TestStreamChecksLayers(t *testing.T) {
	mtime := time.Unix(1, 0)
	tests := []struct {
		name, content string
		// what is wrong with the blob: uncompressed (a tar pads a short file
		// to its old size), and compressed (whose size may move either way)
		plain, compressed string
	}{
		{"unchanged", "hello\n", "", ""},
		{"same size", "HELLO\n", "has digest sha256:", ""},
		{"shorter", "hi\n", "has digest sha256:", ""},
		{"longer", strings.Repeat("hello\n", 10000), "is larger than its", "is larger than its"},
	}
	for _, c := range []layers.Compression{layers.None, layers.Gzip, layers.Zstd} {
		for _, tt := range tests {
			t.Run(string(c)+"/"+tt.name, func(t *testing.T) {
				store := filepath.Join(t.TempDir(), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-hello")
				if err := os.MkdirAll(store, 0o755); err != nil {
					t.Fatal(err)
				}
				file := filepath.Join(store, "greeting")
				if err := os.WriteFile(file, []byte("hello\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				plan := []recipe.Layer{{StorePaths: []string{store}}}
				descs, err := Describe(t.Context(), plan, layers.Options{MTime: mtime, Compression: c})
				if err != nil {
					t.Fatal(err)
				}
				s := &Script{Layers: plan, Blobs: descs,
					Settings: Settings{Ref: mustTag(t, "app:v1"), Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, MTime: mtime, Compression: c}}
				if err := os.WriteFile(file, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				err = s.Stream(t.Context(), &out)
				if tt.name == "unchanged" {
					if err != nil {
						t.Fatal(err)
					}
					img, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(out.Bytes())), nil }, nil)
					if err != nil {
						t.Fatal(err)
					}
					ls, err := img.Layers()
					if err != nil || len(ls) != 1 {
						t.Fatalf("streamed image has layers %v (%v)", ls, err)
					}
					if d, _ := ls[0].Digest(); c != layers.None && d != descs[0].Digest {
						t.Errorf("streamed layer %s, built %s", d, descs[0].Digest)
					}
					return
				}
				detail := tt.compressed
				if c == layers.None {
					detail = tt.plain
				}
				for _, want := range []string{"layer " + descs[0].Digest.String(), detail, "a store path was modified since the image was built; rebuild the image"} {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("got %v, want an error saying %q", err, want)
					}
				}
			})
		}
	}
}

// mustTag parses a reference.
func mustTag(t *testing.T, ref string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(ref, name.WeakValidation)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

// TestReadScriptErrors reads damaged stream scripts: each error names the
// script and what is wrong with it.
func TestReadScriptErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	zero, err := v1.NewHash("sha256:" + strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	s := &Script{Settings: Settings{Ref: mustTag(t, "app:v1"), Compression: layers.Gzip}, Layers: []recipe.Layer{{Comment: "one"}}, Blobs: []layers.Descriptor{{DiffID: zero, Digest: zero, Size: 1}}}
	if err := WriteScript(good, "/bin/nixlayer", s); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadScript(good); err != nil {
		t.Fatalf("reading a good script: %v", err)
	}
	first, body, _ := strings.Cut(string(data), "\n")
	tests := []struct {
		name, content, want string
	}{
		{"not a script", "hello\n", "is not a nixlayer stream script"},
		{"another interpreter", "#!/bin/sh\n" + body, "is not a nixlayer stream script"},
		{"bad JSON", first + "\n{", "reading stream script"},
		{"newer version", first + "\n" + strings.Replace(body, `"version":3`, `"version":4`, 1), "has version 4; this nixlayer reads version 3: rebuild it with this one (it was written by a newer nixlayer)"},
		{"older version", first + "\n" + strings.Replace(body, `"version":3`, `"version":2`, 1), "has version 2; this nixlayer reads version 3: rebuild it with this one (it was written by an older nixlayer)"},
		{"no version", first + "\n" + strings.Replace(body, `"version":3,`, ``, 1), "has no version"},
		{"unknown field", first + "\n" + strings.Replace(body, `"layers":[{`, `"layers":[],"x":[{`, 1), `unknown field "x"`},
		{"bad digest", first + "\n" + strings.Replace(body, `"digest":"sha256:`, `"digest":"md5:`, 1), `layer digest "md5:`},
		{"bad reference", first + "\n" + strings.Replace(body, `"ref":"app:v1"`, `"ref":"Not A Reference!"`, 1), `invalid reference "Not A Reference!"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			if err := os.WriteFile(path, []byte(tt.content), 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := ReadScript(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("got %v, want an error naming %s and saying %q", err, path, tt.want)
			}
		})
	}

	if !strings.Contains(body, `"ref":"app:v1"`) {
		t.Errorf("script body %s: want the reference app:v1", body)
	}
}

// TestScriptRoundTrip: a script with every kind of entry, owners, rules,
// a base and a config is read back as it was written (the conversions to
// and from package wire lose nothing).
func TestScriptRoundTrip(t *testing.T) {
	zero, err := v1.NewHash("sha256:" + strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	mode, uid, uname := int64(0o4755), 1000, "app"
	s := &Script{
		Settings: Settings{Ref: mustTag(t, "app:v1"), Compression: layers.Zstd,
			Config:   v1.Config{Cmd: []string{"/bin/app"}, Env: []string{"A=b"}, User: "app"},
			Platform: v1.Platform{Architecture: "arm64", Variant: "v8", OS: "linux"},
			Created:  time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), MTime: time.Unix(7, 0).UTC(),
			Base: &spec.BaseRef{Path: "/b.tar", Name: "n", Tag: "t"}},
		Layers: []recipe.Layer{
			{StorePaths: []string{"/nix/store/a", "/nix/store/b"}, Uid: 1, Gid: 2, Comment: "store paths: /nix/store/a /nix/store/b", Size: 99,
				Rules: customize.Rules{{Path: "nix/store/a/bin/x", Mode: &mode, Uid: &uid, Uname: &uname, Source: "perms[0]"}}},
			{Extra: []layers.Entry{layers.Dir("etc", 0o755), layers.File("etc/motd", 0o644, []byte("hi\n")), layers.Symlink("bin", "/nix/store/a/bin"),
				{Name: "etc/big", Type: tar.TypeReg, Mode: 0o600, Size: 5, Source: "/nix/store/c/big", Uid: 3},
				// What a root script makes (package rootscript).
				{Name: "etc/big2", Type: tar.TypeLink, Mode: 0o600, Linkname: "etc/big", Uid: 3},
				{Name: "dev/null", Type: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3},
				{Name: "dev/sda", Type: tar.TypeBlock, Mode: 0o660, Devmajor: 8, Gid: 6},
				{Name: "run/fifo", Type: tar.TypeFifo, Mode: 0o644},
				layers.File("etc/.wh.gone", 0o644, nil)}, Comment: "contents at the image root",
				Rules: customize.Rules{{Path: "var", Regex: ".*", Source: "perms[1]"}}},
		},
		Blobs: []layers.Descriptor{{DiffID: zero, Digest: zero, Size: 10, UncompressedSize: 20}, {DiffID: zero, Digest: zero, Size: 30, UncompressedSize: 40}},
	}
	path := filepath.Join(t.TempDir(), "script")
	if err := WriteScript(path, "/bin/nixlayer", s); err != nil {
		t.Fatal(err)
	}
	back, err := ReadScript(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("read back\n%+v\n%+v\nwant\n%+v\n%+v", back.Settings, back.Layers, s.Settings, s.Layers)
	}
}

// TestWriteScriptTooLarge: a script ReadScript would refuse (over
// MaxScriptBytes, here by a file of 50 MiB held in base64) is not
// written: the error names it and the bound, and nothing is left.
func TestWriteScriptTooLarge(t *testing.T) {
	zero, err := v1.NewHash("sha256:" + strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	s := &Script{Settings: Settings{Ref: mustTag(t, "app:v1"), Compression: layers.Gzip},
		Layers: []recipe.Layer{{Extra: []layers.Entry{layers.File("big", 0o644, make([]byte, 50<<20))}}},
		Blobs:  []layers.Descriptor{{DiffID: zero, Digest: zero, Size: 1}}}
	out := filepath.Join(t.TempDir(), "script")
	err = WriteScript(out, "/bin/nixlayer", s)
	if err == nil || !strings.Contains(err.Error(), out) || !strings.Contains(err.Error(), "more than the 67108864 a stream script may have") {
		t.Errorf("got %v, want an error naming %s and the bound", err, out)
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Errorf("%s exists: %v", out, serr)
	}
}
