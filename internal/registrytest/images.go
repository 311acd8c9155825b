// What the tests of pull and push share: fixed and random test images,
// go-containerregistry's in-process registry behind a Proxy, and uploading
// an image to it.

package registrytest

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TarOf returns a deterministic tar holding files (name, content, name,
// content...).
func TarOf(t testing.TB, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for i := 0; i+1 < len(files); i += 2 {
		h := &tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), ModTime: time.Unix(1, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, files[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// FixedImage is an image whose every byte is fixed: two uncompressed
// layers (one shared by name with any FixedImage) and a fixed config.
func FixedImage(t testing.TB, arch string) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image,
		static.NewLayer(TarOf(t, "etc/shared", "shared layer\n"), types.DockerUncompressedLayer),
		static.NewLayer(TarOf(t, "etc/arch", arch+"\n"), types.DockerUncompressedLayer))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Cmd = []string{"/bin/true"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// RandomImage is an image of gzip-compressed random layers.
func RandomImage(t testing.TB) v1.Image {
	t.Helper()
	img, err := random.Image(2048, 3)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// InProcess starts go-containerregistry's in-process registry behind a
// Proxy (which counts requests) and returns the proxy's host and the
// proxy.
func InProcess(t testing.TB) (string, *Proxy) {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	p := NewProxy(t, strings.TrimPrefix(srv.URL, "http://"))
	return p.Host, p
}

// Put uploads img (an image or index) to ref and returns its digest.
func Put(t testing.TB, ref string, img remote.Taggable) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Push(r, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := remote.Head(r)
	if err != nil {
		t.Fatal(err)
	}
	return d.Digest
}

// LayerDigests lists the layer digests of img's manifest.
func LayerDigests(t testing.TB, img v1.Image) []string {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var ds []string
	for _, l := range m.Layers {
		ds = append(ds, l.Digest.String())
	}
	return ds
}
