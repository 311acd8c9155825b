package source

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/internal/registrytest"
)

// FuzzDetectTar feeds the archive detection (image/base's reader through
// Detect) arbitrary bytes as a file: an archive format or an error, never
// a panic or a hang.
func FuzzDetectTar(f *testing.F) {
	f.Add(registrytest.TarOf(f, "manifest.json", "[]"))
	f.Add(registrytest.TarOf(f, "oci-layout", "{}"))
	f.Add(registrytest.TarOf(f, "x", "y"))
	f.Add([]byte("not a tar"))
	f.Add([]byte("#!/x/nixlayer stream\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "fuzz.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		kind, err := Detect(p)
		if err == nil && kind != base.DockerArchive && kind != base.OCIArchive && kind != base.StreamScript {
			t.Errorf("kind %q without error", kind)
		}
	})
}
