package format

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIndexErrors: a docker-archive refuses an index, and an OCI index
// must name manifests that were written; neither leaves an output.
func TestIndexErrors(t *testing.T) {
	missing := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":2}]}`
	tests := []struct {
		f    Format
		want string
	}{
		{DockerArchive, ErrDockerIndex.Error()},
		{OCILayout, "was not written"},
		{OCIArchive, "was not written"},
	}
	for _, tt := range tests {
		t.Run(string(tt.f), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			err := Create(out, tt.f, testTime, func(w Writer) error { return w.Index(Index{Manifest: []byte(missing), Tag: "v1"}) })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if tt.f == DockerArchive && !errors.Is(err, ErrDockerIndex) {
				t.Errorf("error %v is not ErrDockerIndex", err)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("an output was left at %s", out)
			}
		})
	}
}
