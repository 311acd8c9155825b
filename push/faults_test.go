package push

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/pull"
)

func TestPushFaults(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src.tar")
	{
		host, _ := registrytest.InProcess(t)
		digest := registrytest.Put(t, host+"/src:v1", registrytest.RandomImage(t))
		if err := pull.Pull(context.Background(), pull.Request{ImageName: host + "/src", ImageDigest: digest.String()}, src); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		rules []registrytest.Rule
		err   string
	}{
		{"503 on uploads twice", []registrytest.Rule{{Match: registrytest.BlobUpload, Fault: registrytest.Status, Code: http.StatusServiceUnavailable, Times: 2}}, ""},
		{"upload connection dropped once", []registrytest.Rule{{Match: registrytest.BlobUpload, Fault: registrytest.Drop, Times: 1}}, ""},
		{"manifest put fails", []registrytest.Rule{{Match: registrytest.ManifestPut, Fault: registrytest.Status, Code: http.StatusInternalServerError}}, "500 Internal Server Error"},
		{"uploads always fail", []registrytest.Rule{{Match: registrytest.BlobUpload, Fault: registrytest.Status, Code: http.StatusBadGateway}}, "502 Bad Gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := registrytest.Start(t)
			p := registrytest.NewProxy(t, reg.Host)
			p.Inject(tt.rules...)
			dest := p.Host + "/pushed:v1"
			ref, _ := name.ParseReference(dest)
			pushed, err := Push(context.Background(), src, dest, fast)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if d, err := remote.Head(ref); err != nil || d.Digest != pushed.Digest {
					t.Fatalf("registry has %v (%v), push said %s", d, err, pushed.Digest)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), dest) {
				t.Fatalf("error %v, want %q naming %s", err, tt.err, dest)
			}
			// Nothing half-written at DEST: no manifest under the tag.
			if _, err := remote.Head(ref); err == nil {
				t.Fatal("a failed push left an image at the destination")
			}
			// Running it again finishes the job, uploading only what is missing.
			p.Clear()
			p.ResetCounts()
			if _, err := Push(context.Background(), src, dest, fast); err != nil {
				t.Fatalf("re-run: %v", err)
			}
			if _, err := remote.Head(ref); err != nil {
				t.Fatalf("after the re-run: %v", err)
			}
			if tt.name == "manifest put fails" {
				if n := p.Count("POST", "/blobs/uploads/"); n != 0 {
					t.Errorf("re-run started %d uploads; the blobs were there", n)
				}
			}
		})
	}
}
