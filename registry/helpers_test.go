package registry

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
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/internal/registrytest"
)

// tarOf returns a deterministic tar holding files (name → content).
func tarOf(t testing.TB, files ...string) []byte {
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

// fixedImage is an image whose every byte is fixed: two uncompressed
// layers (one shared by name with any fixedImage) and a fixed config.
func fixedImage(t testing.TB, arch string) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image,
		static.NewLayer(tarOf(t, "etc/shared", "shared layer\n"), types.DockerUncompressedLayer),
		static.NewLayer(tarOf(t, "etc/arch", arch+"\n"), types.DockerUncompressedLayer))
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

// randomImage is an image of gzip-compressed random layers.
func randomImage(t testing.TB) v1.Image {
	t.Helper()
	img, err := random.Image(2048, 3)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// newRegistry starts go-containerregistry's in-process registry behind a
// registrytest proxy (which counts requests) and returns the proxy.
func newRegistry(t testing.TB) (string, *registrytest.Proxy) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	p := registrytest.NewProxy(t, strings.TrimPrefix(srv.URL, "http://"))
	return p.Host, p
}

// put uploads img (an image or index) to ref and returns its digest.
func put(t testing.TB, ref string, img remote.Taggable) v1.Hash {
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

// fast makes retries quick for tests.
var fast = WithRetry(3, 10*time.Millisecond)
