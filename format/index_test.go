package format

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestIndexErrors: a docker-archive refuses an index, and an OCI index
// needs each image's platform and layers; none leaves an output.
func TestIndexErrors(t *testing.T) {
	amd := &v1.Platform{OS: "linux", Architecture: "amd64"}
	tests := []struct {
		name     string
		f        Format
		platform *v1.Platform
		want     string
	}{
		{"docker-archive", DockerArchive, amd, ErrDockerIndex.Error()},
		{"oci-layout missing layer", OCILayout, amd, "writing images[0] (app): image app: layer sha256:"},
		{"oci-archive missing layer", OCIArchive, amd, "was not written"},
		{"no platform", OCILayout, nil, "images[0] (app) has no platform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, _ := testImage(t, tt.f, "app", newLayer(t, "a", "a"))
			img.Platform = tt.platform
			out := filepath.Join(t.TempDir(), "out")
			err := Create(out, tt.f, testTime, func(w Writer) error { return w.Index(Index{Images: []Image{img}, Tag: "v1"}) })
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
