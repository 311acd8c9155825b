package recipe

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nixlayer/nixlayer/wire"
)

// FuzzReadLayerOutput feeds ReadLayerOutput a buildLayer output whose
// layer.json is arbitrary bytes (beside one one-byte blob): layers or an
// error, never a panic; every layer it accepts is a regular file inside
// the output with its descriptor's size.
func FuzzReadLayerOutput(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("..", "wire", "testdata", "layer-v3.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte(`{"version":3,"platform":{"architecture":"amd64","os":"linux"},"layers":[{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000001","diffID":"sha256:0000000000000000000000000000000000000000000000000000000000000001","size":1,"uncompressedSize":1,"mediaType":"x","compression":"none"}]}`))
	f.Add([]byte(`{"version":3,"layers":[{"digest":"sha256:../../../etc/passwd","size":1,"compression":"none"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		out := t.TempDir()
		blob := filepath.Join(out, "blobs", "sha256", "0000000000000000000000000000000000000000000000000000000000000001")
		if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(blob, []byte{0}, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, wire.LayerFileName), data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, ls, err := ReadLayerOutput(out, "layers[0]")
		if err != nil {
			return
		}
		for _, l := range ls {
			fi, err := os.Lstat(l.Cached.File)
			if err != nil || !fi.Mode().IsRegular() || fi.Size() != l.Cached.Desc.Size || filepath.Dir(filepath.Dir(filepath.Dir(l.Cached.File))) != out {
				t.Errorf("accepted layer %s: %v, %v", l.Cached.File, fi, err)
			}
		}
	})
}
