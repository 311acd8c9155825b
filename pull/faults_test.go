package pull

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/registry"
)

// realRegistry starts docker-registry with an image at app:v1 and a
// fault-injecting proxy in front of it.
func realRegistry(t *testing.T) (*registrytest.Proxy, Request) {
	t.Helper()
	reg := registrytest.Start(t)
	digest := registrytest.Put(t, reg.Host+"/app:v1", registrytest.RandomImage(t))
	p := registrytest.NewProxy(t, reg.Host)
	return p, Request{ImageName: p.Host + "/app", ImageDigest: digest.String()}
}

func TestPullFaults(t *testing.T) {
	tests := []struct {
		name  string
		rules []registrytest.Rule
		err   string // empty: the pull succeeds
	}{
		{"blob corrupted", []registrytest.Rule{{Match: registrytest.BlobGet, Fault: registrytest.Corrupt}}, "error verifying sha256 checksum"},
		{"connection cut once", []registrytest.Rule{{Match: registrytest.BlobGet, Fault: registrytest.Cut, Times: 1}}, ""},
		{"connection always cut", []registrytest.Rule{{Match: registrytest.BlobGet, Fault: registrytest.Cut}}, "unexpected EOF"},
		{"503 twice", []registrytest.Rule{{Match: registrytest.ManifestGet, Fault: registrytest.Status, Code: http.StatusServiceUnavailable, Times: 2}}, ""},
		{"503 always", []registrytest.Rule{{Match: registrytest.ManifestGet, Fault: registrytest.Status, Code: http.StatusServiceUnavailable}}, "503 Service Unavailable"},
		{"500 on blobs always", []registrytest.Rule{{Match: registrytest.BlobGet, Fault: registrytest.Status, Code: http.StatusInternalServerError}}, "500 Internal Server Error"},
		{"digest not found", nil, "MANIFEST_UNKNOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, req := realRegistry(t)
			if tt.name == "digest not found" {
				req.ImageDigest = "sha256:" + strings.Repeat("0", 64)
			}
			p.Inject(tt.rules...)
			out := filepath.Join(t.TempDir(), "image.tar")
			err := Pull(context.Background(), req, out, fast)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("pull failed: %v", err)
				}
				checkImage(t, readBack(t, out, format.DockerArchive))
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
			if !strings.Contains(err.Error(), req.ImageName) {
				t.Errorf("error %v does not name the image %s", err, req.ImageName)
			}
			testutil.AssertAbsent(t, out)
		})
	}
	t.Run("corrupt blob is not retried", func(t *testing.T) {
		p, req := realRegistry(t)
		p.Inject(registrytest.Rule{Match: registrytest.BlobGet, Fault: registrytest.Corrupt})
		p.ResetCounts()
		if err := Pull(context.Background(), req, filepath.Join(t.TempDir(), "x"), fast, registry.WithJobs(1)); err == nil {
			t.Fatal("a corrupt blob was pulled")
		}
		if n := p.Count("GET", "/blobs/"); n != 1 {
			t.Errorf("%d blob requests, want 1: a digest mismatch is final", n)
		}
	})
}

func TestPullAuth(t *testing.T) {
	reg := registrytest.Start(t, registrytest.WithAuth())
	basic := &authn.Basic{Username: registrytest.User, Password: registrytest.Password}
	img := registrytest.RandomImage(t)
	ref, err := name.ParseReference(reg.Host + "/private:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(basic)); err != nil {
		t.Fatal(err)
	}
	digest, _ := img.Digest()
	req := Request{ImageName: reg.Host + "/private", ImageDigest: digest.String()}

	t.Run("no credentials", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", t.TempDir())
		out := filepath.Join(t.TempDir(), "out")
		err := Pull(context.Background(), req, out, fast)
		if err == nil || !strings.Contains(err.Error(), "401") && !strings.Contains(err.Error(), "UNAUTHORIZED") {
			t.Fatalf("error %v, want 401", err)
		}
		testutil.AssertAbsent(t, out)
	})
	t.Run("docker config", func(t *testing.T) {
		dir := t.TempDir()
		auth := base64.StdEncoding.EncodeToString([]byte(registrytest.User + ":" + registrytest.Password))
		cfg := `{"auths":{"` + reg.Host + `":{"auth":"` + auth + `"}}}`
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("DOCKER_CONFIG", dir)
		out := filepath.Join(t.TempDir(), "out")
		if err := Pull(context.Background(), req, out, fast); err != nil {
			t.Fatal(err)
		}
		checkImage(t, readBack(t, out, format.DockerArchive))
	})
}
