package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/wire"
)

// maxAttackRSS bounds the peak RSS of nixlayer on a hostile input: a
// refused input is never read into memory.
const maxAttackRSS = 100 << 20

// cachedLayerOutput writes what nl.buildLayer writes into a new
// directory: one gzip layer holding /hello, its blob and layer.json. It
// returns the output and the layer's descriptor.
func cachedLayerOutput(t *testing.T) (string, wire.Descriptor) {
	t.Helper()
	var tarBuf, gzBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	content := []byte("hello from a cached layer\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg, ModTime: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	tw.Write(content)
	tw.Close()
	zw := gzip.NewWriter(&gzBuf)
	zw.Write(tarBuf.Bytes())
	zw.Close()
	sum := func(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }
	d := wire.Descriptor{Digest: sum(gzBuf.Bytes()), DiffID: sum(tarBuf.Bytes()), Size: int64(gzBuf.Len()),
		UncompressedSize: int64(tarBuf.Len()), MediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", Compression: "gzip", Comment: "cached"}
	out := filepath.Join(t.TempDir(), "layer-out")
	blob := filepath.Join(out, wire.BlobPath(d.Digest))
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blob, gzBuf.Bytes(), 0o444); err != nil {
		t.Fatal(err)
	}
	doc, err := wire.EncodeLayerFile(&wire.LayerFile{Platform: wire.Platform{Architecture: "amd64", OS: "linux"}, Layers: []wire.Descriptor{d}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, wire.LayerFileName), doc, 0o444); err != nil {
		t.Fatal(err)
	}
	return out, d
}

// writeStreamScript writes a stream script of one layer, l, run by exe.
func writeStreamScript(t *testing.T, exe string, ls ...wire.Layer) string {
	t.Helper()
	body, err := wire.EncodeScript(&wire.Script{Ref: "cached:v1", Config: []byte(`{}`), Platform: wire.Platform{Architecture: "amd64", OS: "linux"},
		Created: "1970-01-01T00:00:01Z", MTime: 1, Compression: "gzip", Layers: ls})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "stream-script")
	if err := os.WriteFile(p, []byte("#!"+exe+" stream\n"+string(body)+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStreamScriptCachedLayerAttacks: a stream script's cached ("file")
// layer is read only from the regular blob file of a buildLayer output and
// checked byte for byte against its digest, by every command that reads
// the layer (stream, merge-images, build-index, push): a flipped byte, a file
// outside a layer output, a FIFO, a symlink out end in an error naming the
// file, within a bounded RSS, with nothing at the output.
func TestStreamScriptCachedLayerAttacks(t *testing.T) {
	exe := testutil.Exe(t)
	reg := registrytest.Start(t)
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("not for the image"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		// damage changes the layer output (out, its blob) and returns the
		// script's file and the text the error must hold.
		damage func(t *testing.T, out, blob string) (file, want string)
	}{
		{"good", func(t *testing.T, out, blob string) (string, string) { return blob, "" }},
		{"a byte flipped", func(t *testing.T, out, blob string) (string, string) {
			data, _ := os.ReadFile(blob)
			data[len(data)/2] ^= 1
			os.Chmod(blob, 0o644)
			if err := os.WriteFile(blob, data, 0o444); err != nil {
				t.Fatal(err)
			}
			return blob, "cached layer " + blob + " has digest sha256:"
		}},
		{"another file", func(t *testing.T, out, blob string) (string, string) {
			return secret, fmt.Sprintf("file %q is not the blob of a layer built by nl.buildLayer", secret)
		}},
		{"a FIFO", func(t *testing.T, out, blob string) (string, string) {
			os.Remove(blob)
			if err := syscall.Mkfifo(blob, 0o644); err != nil {
				t.Fatal(err)
			}
			return blob, blob + ": a FIFO, not a regular file"
		}},
		{"a symlink out", func(t *testing.T, out, blob string) (string, string) {
			os.Remove(blob)
			if err := os.Symlink(secret, blob); err != nil {
				t.Fatal(err)
			}
			return blob, blob + ": a symlink, not a regular file"
		}},
		{"blobs a symlink", func(t *testing.T, out, blob string) (string, string) {
			elsewhere := t.TempDir()
			if err := os.Rename(filepath.Join(out, "blobs"), filepath.Join(elsewhere, "blobs")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(elsewhere, "blobs"), filepath.Join(out, "blobs")); err != nil {
				t.Fatal(err)
			}
			return blob, filepath.Join(out, "blobs") + ": a symlink, not a directory"
		}},
		{"no layer.json", func(t *testing.T, out, blob string) (string, string) {
			os.Remove(filepath.Join(out, wire.LayerFileName))
			return blob, "cached layer " + blob + " is not in a layer built by nl.buildLayer"
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, d := cachedLayerOutput(t)
			file, want := tt.damage(t, out, filepath.Join(out, wire.BlobPath(d.Digest)))
			script := writeStreamScript(t, exe, wire.Layer{Descriptor: d, File: file})
			for _, cmd := range [][]string{
				{"stream", "-o", "OUT", script},
				{"merge-images", "-o", "OUT", script},
				{"build-index", "--name", "cached", "-o", "OUT", script},
				{"build-index", "--name", "cached", "--format", "oci-archive", "-o", "OUT", script},
				{"push", "--insecure", "-q", "--no-sbom", script, "OUT"},
			} {
				dest := filepath.Join(t.TempDir(), "out")
				if cmd[0] == "push" {
					// A repository per case: one holding the good blob
					// already takes no upload, so reads no file.
					dest = fmt.Sprintf("%s/%s:v1", reg.Host, strings.NewReplacer(" ", "-", ".", "-").Replace(strings.ToLower(tt.name)))
				}
				args := slices.Clone(cmd)
				args[slices.Index(args, "OUT")] = dest
				m := testutil.RunRSS(t, 60*time.Second, nil, exe, args...)
				t.Logf("%s: exit %v, %s, peak RSS %d MiB", cmd[0], m.Err, m.Elapsed.Round(time.Millisecond), m.PeakRSS>>20)
				if m.PeakRSS > maxAttackRSS {
					t.Errorf("%s: peak RSS %d MiB, over %d MiB", cmd[0], m.PeakRSS>>20, maxAttackRSS>>20)
				}
				if want == "" {
					if m.Err != nil {
						t.Errorf("%s: %s", cmd[0], m)
					}
					continue
				}
				if m.Err == nil || !strings.Contains(m.Stderr, want) {
					t.Errorf("%s: want an error saying %q, got %s", cmd[0], want, m)
				}
				if cmd[0] != "push" {
					testutil.AssertAbsent(t, dest)
				} else if ref, err := name.ParseReference(dest, name.Insecure); err != nil {
					t.Fatal(err)
				} else if _, err := remote.Head(ref); err == nil {
					t.Errorf("push: the registry has %s after the failure", dest)
				}
			}
		})
	}
}
