package tests

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/sbom"
	"github.com/nixlayer/nixlayer/sbom/embedded"
)

// TestSBOMPush: `nixlayer push` of a built image and of a stream script
// attaches both documents to the pushed manifest, found on the real
// docker-registry (which has no referrers API: through the referrers
// tag); --no-sbom attaches none; a registry that refuses them gets the
// image and a warning, and the push succeeds.
func TestSBOMPush(t *testing.T) {
	exe := testutil.Exe(t)
	reg := registrytest.Start(t)
	paths := strings.Fields(testutil.NixBuild(t, `let args = { name = "sbom-push"; tag = "v1"; contents = [ testPkgs.hello ]; }; in
	  [ (nl.buildLayeredImage args) (nl.streamLayeredImage args) ]`))
	if len(paths) != 2 {
		t.Fatalf("nix-build printed %q", paths)
	}
	for i, src := range paths {
		kind := []string{"image", "stream script"}[i]
		t.Run(kind, func(t *testing.T) {
			dest := reg.Host + "/sbom/" + strings.ReplaceAll(kind, " ", "-") + ":v1"
			out, errOut, err := testutil.RunErr("", nil, exe, "push", src, dest)
			if err != nil {
				t.Fatalf("push: %v\n%s", err, errOut)
			}
			pushed := strings.TrimSpace(out)
			if !strings.Contains(errOut, "attached application/spdx+json as ") {
				t.Errorf("push said nothing of the SBOM:\n%s", errOut)
			}
			checkReferrers(t, src, pushed, true)
		})
	}
	t.Run("index", func(t *testing.T) {
		src := testutil.NixBuild(t, `nl.buildImageIndex { name = "sbom-idx"; tag = "v1"; images = [
		  (nl.buildLayeredImage { name = "sbom-idx"; tag = "amd64"; architecture = "amd64"; contents = [ testPkgs.hello ]; })
		  (nl.buildLayeredImage { name = "sbom-idx"; tag = "arm64"; architecture = "arm64"; contents = [ testPkgs.twins ]; }) ]; }`)
		out := testutil.Run(t, "", nil, exe, "push", "--quiet", src, reg.Host+"/sbom/idx:v1")
		ref, err := name.NewDigest(strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("push printed %q: %v", out, err)
		}
		idx, err := remote.Index(ref)
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil || len(im.Manifests) != 2 {
			t.Fatalf("pushed index: %v, %v", im, err)
		}
		seen := map[string]bool{}
		for _, m := range im.Manifests {
			checkReferrers(t, src, ref.Context().Digest(m.Digest.String()).String(), true, base.WithManifest(m.Digest))
			docs, err := embedded.ReadAll(src, base.WithManifest(m.Digest))
			if err != nil {
				t.Fatal(err)
			}
			seen[string(docs.SPDX)] = true
		}
		if len(seen) != 2 {
			t.Error("the two platforms' images gave the same document: the index's images were not read each")
		}
		checkReferrers(t, src, ref.String(), false)
	})
	t.Run("--no-sbom", func(t *testing.T) {
		out := testutil.Run(t, "", nil, exe, "push", "--quiet", "--no-sbom", "--no-provenance", paths[0], reg.Host+"/sbom/none:v1")
		checkReferrers(t, paths[0], strings.TrimSpace(out), false)
	})
	t.Run("registry refuses", func(t *testing.T) {
		proxy := registrytest.NewProxy(t, reg.Host)
		proxy.Inject(registrytest.Rule{Match: func(r *http.Request) bool {
			return registrytest.ManifestPut(r) && strings.Contains(r.URL.Path, "/manifests/sha256:")
		}, Fault: registrytest.Status, Code: http.StatusBadRequest})
		out, errOut, err := testutil.RunErr("", nil, exe, "push", "--quiet", paths[0], proxy.Host+"/sbom/refused:v1")
		if err != nil || !strings.Contains(out, "@sha256:") {
			t.Fatalf("push to a registry refusing artifacts failed: %v\n%s%s", err, out, errOut)
		}
		if !strings.Contains(errOut, "warning:") || !strings.Contains(errOut, "SBOM was not attached") || !strings.Contains(errOut, "400") {
			t.Errorf("no warning naming the refusal:\n%s", errOut)
		}
	})
}

// checkReferrers lists the referrers of the pushed manifest (NAME@DIGEST)
// and, when want, checks that they are both documents of src (of its image
// that bopts pick), each an artifact whose one layer is the document; else
// that there are none.
func checkReferrers(t *testing.T, src, pushed string, want bool, bopts ...base.Option) {
	t.Helper()
	subject, err := name.NewDigest(pushed)
	if err != nil {
		t.Fatalf("push printed %q: %v", pushed, err)
	}
	idx, err := remote.Referrers(subject)
	if err != nil {
		t.Fatalf("remote.Referrers(%s): %v", subject, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if !want {
		if len(im.Manifests) != 0 {
			t.Errorf("%s has referrers %v, want none", subject, im.Manifests)
		}
		return
	}
	// docker-registry has no referrers API: the index is the referrers tag.
	if _, err := remote.Head(subject.Context().Tag(strings.Replace(subject.DigestStr(), ":", "-", 1))); err != nil {
		t.Errorf("no referrers tag: %v", err)
	}
	found := map[string]bool{}
	for _, d := range im.Manifests {
		img, err := remote.Image(subject.Context().Digest(d.Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		ls, err := img.Layers()
		if err != nil || len(ls) != 1 {
			t.Fatalf("artifact %s: %d layers, %v", d.Digest, len(ls), err)
		}
		rc, err := ls[0].Compressed()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range sbom.Formats {
			if d.ArtifactType != f.MediaType() {
				continue
			}
			docs, err := embedded.ReadAll(src, bopts...)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, docs.Get(f)) {
				t.Errorf("the %s referrer is not the image's document", f)
			}
			found[string(f)] = true
		}
	}
	if len(found) != len(sbom.Formats) {
		t.Errorf("referrers of %s: %v; want one per format", subject, im.Manifests)
	}
}
