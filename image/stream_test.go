package image

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

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
				plan := []Layer{{StorePaths: []string{store}}}
				descs, err := Describe(t.Context(), plan, mtime, c)
				if err != nil {
					t.Fatal(err)
				}
				s := &Script{Ref: "app:v1", Layers: plan, Blobs: descs,
					Settings: Resolved{Platform: Platform{OS: "linux", Architecture: "amd64"}, MTime: mtime, Compression: c}}
				if err := os.WriteFile(file, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				err = s.Stream(&out)
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

// TestReadScriptErrors reads damaged stream scripts: each error names the
// script and what is wrong with it.
func TestReadScriptErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	zero, err := v1.NewHash("sha256:" + strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	s := &Script{Ref: "app:v1", Layers: []Layer{{Comment: "one"}}, Blobs: []layers.Descriptor{{DiffID: zero, Digest: zero, Size: 1}}}
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
		{"newer version", first + "\n" + strings.Replace(body, `"version":1`, `"version":2`, 1), "has version 2; this nixlayer reads version 1: rebuild it"},
		{"descriptor missing", first + "\n" + strings.Replace(body, `"blobs":[{`, `"blobs":[],"x":[{`, 1), "is damaged: 1 layers, 0 descriptors"},
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

	bad := *s
	bad.Ref = "Not A Reference!"
	if err := bad.Stream(io.Discard); err == nil || !strings.Contains(err.Error(), `invalid reference "Not A Reference!"`) {
		t.Errorf("streaming a script with a bad reference: %v", err)
	}
}
