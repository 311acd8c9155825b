package pull

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
)

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestPullBadInput(t *testing.T) {
	host, _ := registrytest.InProcess(t)
	digest := registrytest.Put(t, host+"/app:v1", registrytest.FixedImage(t, "amd64"))
	missing := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name string
		req  Request
		err  string
	}{
		{"digest not found", Request{ImageName: host + "/app", ImageDigest: missing}, `fetching manifest of "` + host + "/app@" + missing + `"`},
		{"repository not found", Request{ImageName: host + "/nothing", ImageDigest: digest.String()}, "fetching manifest of"},
		{"bad digest", Request{ImageName: host + "/app", ImageDigest: "sha256:xyz"}, `reading imageDigest "sha256:xyz"`},
		{"bad name", Request{ImageName: host + "/App", ImageDigest: digest.String()}, "reading image reference"},
		{"bad final tag", Request{ImageName: host + "/app", ImageDigest: digest.String(), FinalImageTag: "a b"}, "reading finalImageName:finalImageTag"},
		{"bad format", Request{ImageName: host + "/app", ImageDigest: digest.String(), Format: "zip"}, `unknown format "zip"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			err := Pull(context.Background(), tt.req, out, fast)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
			testutil.AssertAbsent(t, out)
		})
	}
	t.Run("output exists", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		if err := os.WriteFile(out, []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := Pull(context.Background(), Request{ImageName: host + "/app", ImageDigest: digest.String(), Format: format.DockerArchive}, out)
		if err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Fatalf("error %v, want already exists", err)
		}
		if string(mustRead(t, out)) != "keep" {
			t.Error("existing output was changed")
		}
	})
}
