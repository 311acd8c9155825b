package push

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
)

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// tarWith is a tar holding the named files.
func tarWith(t *testing.T, files map[string][]byte, order ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range order {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(files[n])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// craftedArchive writes a docker-archive tagged crafted:v1 whose layers
// are the blobs and whose config lists diffIDs.
func craftedArchive(t *testing.T, blobs [][]byte, diffIDs []string) string {
	t.Helper()
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux", "rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs}})
	files := map[string][]byte{"config.json": cfg}
	order := []string{"config.json"}
	var names []string
	for i, b := range blobs {
		n := fmt.Sprintf("layer%d.tar", i)
		files[n], order, names = b, append(order, n), append(names, n)
	}
	m, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{"crafted:v1"}, "Layers": names}})
	files["manifest.json"] = m
	p := filepath.Join(t.TempDir(), "crafted.tar")
	if err := os.WriteFile(p, tarWith(t, files, append(order, "manifest.json")...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// TestPushChecksLayers pushes images whose layers are not what their
// manifest and config say to go-containerregistry's in-process registry:
// each push fails naming the image file and the layer, and the registry
// has no manifest.
func TestPushChecksLayers(t *testing.T) {
	host, _ := registrytest.InProcess(t)
	a := tarWith(t, map[string][]byte{"a": bytes.Repeat([]byte("a"), 10000)}, "a")
	b := tarWith(t, map[string][]byte{"b": bytes.Repeat([]byte("b"), 10000)}, "b")
	bomb := func() []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(a[:512])
		zero := make([]byte, 1<<20)
		for range 128 {
			zw.Write(zero)
		}
		zw.Close()
		return buf.Bytes()
	}()
	cases := []struct {
		name string
		src  func(t *testing.T) string
		want []string
	}{
		{"gzip layer holding another tar", func(t *testing.T) string {
			return craftedArchive(t, [][]byte{gz(b), gz(b)}, []string{digestOf(a), digestOf(b)})
		}, []string{"layer 0", "uncompressed content has diffID " + digestOf(b), "the config says " + digestOf(a)}},
		{"layers swapped", func(t *testing.T) string {
			return craftedArchive(t, [][]byte{gz(b), gz(a)}, []string{digestOf(a), digestOf(b)})
		}, []string{"layer 0", "diffID " + digestOf(b)}},
		{"uncompressed layer that is not its diffID", func(t *testing.T) string {
			return craftedArchive(t, [][]byte{a, a}, []string{digestOf(a), digestOf(b)})
		}, []string{"layer 1", "diffID " + digestOf(a)}},
		{"truncated gzip stream", func(t *testing.T) string {
			z := gz(a)
			return craftedArchive(t, [][]byte{z[:len(z)-10]}, []string{digestOf(a)})
		}, []string{"decompressing layer 0", "unexpected EOF"}},
		{"diff_ids shorter than the layers", func(t *testing.T) string {
			return craftedArchive(t, [][]byte{gz(a), gz(b)}, []string{digestOf(a)})
		}, []string{"1 rootfs.diff_ids for 2 layers"}},
		{"gzip bomb", func(t *testing.T) string {
			t.Setenv(base.EnvMaxBytes, fmt.Sprint(32<<20))
			return craftedArchive(t, [][]byte{bomb}, []string{digestOf(a)})
		}, []string{"decompressing layer 0", "exceeds 33554432 bytes"}},
		{"OCI layout whose layers are swapped against diff_ids", func(t *testing.T) string {
			img := randomImage(t)
			cfg, _ := img.ConfigFile()
			ids := cfg.RootFS.DiffIDs
			ids[0], ids[1] = ids[1], ids[0]
			img, err := mutate.ConfigFile(img, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return layoutOf(t, img)
		}, []string{"uncompressed content has diffID", "the config says"}}, // either layer: they upload at once
		{"OCI layout blob that is not its descriptor", func(t *testing.T) string {
			img := randomImage(t)
			dir := layoutOf(t, img)
			ls, _ := img.Layers()
			d, _ := ls[1].Digest()
			blob := filepath.Join(dir, "blobs", d.Algorithm, d.Hex)
			old, _ := os.ReadFile(blob)
			old[len(old)/2] ^= 1
			os.WriteFile(blob, old, 0o644)
			return dir
		}, []string{"layer 1", "has digest sha256:", "not sha256:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := c.src(t)
			ref := host + "/checked/" + strings.ToLower(strings.ReplaceAll(c.name, " ", "-")) + ":v1"
			before := testutil.PeakRSS(t)
			_, err := Push(context.Background(), src, ref, fast)
			if err == nil {
				t.Fatal("the push succeeded")
			}
			t.Log(err)
			for _, w := range append(c.want, src) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error lacks %q", w)
				}
			}
			if grew := testutil.PeakRSS(t) - before; grew > 64<<20 {
				t.Errorf("peak RSS grew by %d MiB", grew>>20)
			}
			var terr *transport.Error
			r, perr := name.ParseReference(ref)
			if perr != nil {
				t.Fatal(perr)
			}
			if _, herr := remote.Head(r); herr == nil || !errors.As(herr, &terr) || terr.StatusCode != 404 {
				t.Errorf("the registry has a manifest at %s (%v)", ref, herr)
			}
		})
	}
}

func randomImage(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(4096, 2)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// layoutOf writes img into a new OCI layout.
func layoutOf(t *testing.T, img v1.Image) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return dir
}
