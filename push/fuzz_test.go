package push

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nixlayer/nixlayer/internal/registrytest"
)

// FuzzDetectTar feeds the archive detection (image/base's reader)
// arbitrary bytes as a file.
func FuzzDetectTar(f *testing.F) {
	f.Add(registrytest.TarOf(f, "manifest.json", "[]"))
	f.Add(registrytest.TarOf(f, "oci-layout", "{}"))
	f.Add(registrytest.TarOf(f, "x", "y"))
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "fuzz.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		kind, err := DetectSource(p)
		if err == nil && kind != SourceDockerArchive && kind != SourceOCIArchive {
			t.Errorf("kind %q without error", kind)
		}
	})
}
