package push

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/sbom"
)

// sbomArchive writes a docker-archive whose one layer holds the files of
// files (name, content...) and returns its path.
func sbomArchive(t *testing.T, files ...string) string {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(registrytest.TarOf(t, files...), types.DockerUncompressedLayer))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(p, name.MustParseReference("app:v1"), img); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAttachSBOM pushes an image that carries both documents and attaches
// them to the pushed manifest (ggcr's registry, with the referrers API);
// an image without documents is ErrNoSBOM and attaches nothing.
func TestAttachSBOM(t *testing.T) {
	host := serve(t, registry.New(quiet, registry.WithReferrersSupport(true)))
	with := sbomArchive(t, sbom.SPDXJSON.Path(), string(testArtifacts[0].Data), sbom.CycloneDXJSON.Path(), string(testArtifacts[1].Data))
	pushed, err := Push(t.Context(), with, host+"/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	descs, err := AttachSBOM(t.Context(), with, pushed)
	if err != nil {
		t.Fatal(err)
	}
	if len(descs) != 2 || descs[0].ArtifactType != sbom.SPDXJSON.MediaType() || descs[1].ArtifactType != sbom.CycloneDXJSON.MediaType() {
		t.Fatalf("attached %+v", descs)
	}
	ref, err := name.NewDigest(pushed.Reference)
	if err != nil {
		t.Fatal(err)
	}
	subject, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	checkReferrers(t, ref.Context(), *subject, descs, true)

	without := sbomArchive(t, "etc/motd", "hi\n")
	pushed, err = Push(t.Context(), without, host+"/bare:v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AttachSBOM(t.Context(), without, pushed); !errors.Is(err, ErrNoSBOM) {
		t.Errorf("an image without documents: %v, want ErrNoSBOM", err)
	}
}
