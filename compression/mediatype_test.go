package compression

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestMediaTypes: each compression's media types give it back, and the
// suffixes and sniffed kinds map as docker-archives and base images need.
func TestMediaTypes(t *testing.T) {
	for _, c := range []Compression{Gzip, Zstd, None} {
		for _, oci := range []bool{false, true} {
			mt := c.MediaType(oci)
			if got, ok := FromMediaType(mt); !ok || got != c {
				t.Errorf("FromMediaType(%s) = %q, %v; want %q", mt, got, ok, c)
			}
		}
	}
	tests := []struct {
		mt     types.MediaType
		want   Compression
		ok     bool
		suffix string
	}{
		{types.DockerLayer, Gzip, true, ".tar.gz"},
		{types.DockerForeignLayer, Gzip, true, ".tar.gz"},
		{types.OCIRestrictedLayer, Gzip, true, ".tar.gz"},
		{types.OCILayerZStd, Zstd, true, ".tar.zst"},
		{types.OCIUncompressedRestrictedLayer, None, true, ".tar"},
		{types.OCIConfigJSON, "", false, ".tar"},
	}
	for _, tt := range tests {
		t.Run(string(tt.mt), func(t *testing.T) {
			c, ok := FromMediaType(tt.mt)
			if c != tt.want || ok != tt.ok || c.Suffix() != tt.suffix {
				t.Errorf("got %q, %v, %q; want %q, %v, %q", c, ok, c.Suffix(), tt.want, tt.ok, tt.suffix)
			}
		})
	}
	kinds := map[Compression]types.MediaType{Gzip: types.DockerLayer, Zstd: types.OCILayerZStd, None: types.DockerUncompressedLayer}
	for k, want := range kinds {
		if got, ok := k.LayerMediaType(false); !ok || got != want {
			t.Errorf("%s: %s, %v; want %s", k, got, ok, want)
		}
	}
	if _, ok := Xz.LayerMediaType(false); ok {
		t.Error("xz has a layer media type")
	}
}
