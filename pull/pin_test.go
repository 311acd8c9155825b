package pull

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/nix-community/go-nix/pkg/nixbase32"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/registry"
)

// TestPinMatchesPull checks that the hash pin prints is the hash of what
// Pull writes (and so of pullImage's $out), for each format.
func TestPinMatchesPull(t *testing.T) {
	host, _ := registrytest.InProcess(t)
	registrytest.Put(t, host+"/app:v2", registrytest.RandomImage(t))
	for _, f := range []format.Format{format.DockerArchive, format.OCILayout, format.OCIArchive} {
		t.Run(string(f), func(t *testing.T) {
			p, err := Pin(context.Background(), host+"/app:v2", f)
			if err != nil {
				t.Fatal(err)
			}
			if p.ImageName != host+"/app" || p.FinalImageName != host+"/app" || p.FinalImageTag != "v2" {
				t.Errorf("pinned %+v", p)
			}
			out := filepath.Join(t.TempDir(), "out")
			req := Request{ImageName: p.ImageName, ImageDigest: p.ImageDigest, FinalImageName: p.FinalImageName, FinalImageTag: p.FinalImageTag, Format: f}
			if err := Pull(context.Background(), req, out); err != nil {
				t.Fatal(err)
			}
			var got string
			if f == format.OCILayout {
				got = narHash(t, out)
			} else {
				s := sha256.Sum256(mustRead(t, out))
				got = nixbase32.EncodeToString(s[:])
			}
			if got != p.Sha256 {
				t.Errorf("pin says %s, the pulled output hashes to %s", p.Sha256, got)
			}
			if !strings.HasPrefix(p.Hash, "sha256-") {
				t.Errorf("hash %q is not SRI", p.Hash)
			}
			nix := p.Nix()
			for _, want := range []string{`imageDigest = "` + p.ImageDigest + `";`, `sha256 = "` + p.Sha256 + `";`, `finalImageTag = "v2";`} {
				if !strings.Contains(nix, want) {
					t.Errorf("Nix() lacks %s:\n%s", want, nix)
				}
			}
		})
	}
}

// multiArch pushes an index with an amd64 and an arm64/v8 image and
// returns the index digest and the two images.
func multiArch(t *testing.T, ref string) (v1.Hash, v1.Image, v1.Image) {
	t.Helper()
	amd, arm := registrytest.FixedImage(t, "amd64"), registrytest.FixedImage(t, "arm64")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}})
	return registrytest.Put(t, ref, idx), amd, arm
}

func TestPullIndex(t *testing.T) {
	host, _ := registrytest.InProcess(t)
	digest, amd, arm := multiArch(t, host+"/multi:latest")
	tests := []struct {
		name     string
		platform v1.Platform
		want     v1.Image
		err      string
	}{
		{"amd64", v1.Platform{OS: "linux", Architecture: "amd64"}, amd, ""},
		{"arm64 any variant", v1.Platform{OS: "linux", Architecture: "arm64"}, arm, ""},
		{"arm64/v8", v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}, arm, ""},
		{"arm64/v9", v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v9"}, nil, "no image for platform linux/arm64/v9; the index has linux/amd64, linux/arm64/v8"},
		{"s390x", v1.Platform{OS: "linux", Architecture: "s390x"}, nil, "no image for platform linux/s390x; the index has linux/amd64, linux/arm64/v8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			req := Request{ImageName: host + "/multi", ImageDigest: digest.String(), Format: format.OCILayout}
			err := Pull(context.Background(), req, out, registry.WithPlatform(tt.platform))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				testutil.AssertAbsent(t, out)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, _ := tt.want.ConfigName()
			if c, _ := readBack(t, out, format.OCILayout).ConfigName(); c != want {
				t.Errorf("pulled config %s, want %s", c, want)
			}
		})
	}
	t.Run("pin names the platform", func(t *testing.T) {
		p, err := Pin(context.Background(), host+"/multi", format.DockerArchive, registry.WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64"}))
		if err != nil {
			t.Fatal(err)
		}
		if p.ImageDigest != digest.String() || p.OS != "linux" || p.Arch != "arm64" || p.FinalImageTag != "latest" {
			t.Errorf("pinned %+v", p)
		}
	})
}

func TestNixString(t *testing.T) {
	if got, want := nixString(`a"b\c${d}`+"\n"), `"a\"b\\c\${d}\n"`; got != want {
		t.Errorf("nixString = %s, want %s", got, want)
	}
}
