package push

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	nlregistry "github.com/nixlayer/nixlayer/registry"
)

var testArtifacts = []Artifact{
	{ArtifactType: "application/spdx+json", Title: "nixlayer.spdx.json", Data: []byte(`{"spdxVersion":"SPDX-2.3"}`)},
	{ArtifactType: "application/vnd.cyclonedx+json", Title: "nixlayer.cdx.json", Data: []byte(`{"bomFormat":"CycloneDX"}`)},
}

// TestAttach pushes an image, attaches both documents twice and finds them
// back with remote.Referrers: on ggcr's registry with and without the
// referrers API, and on the real docker-registry, which has none (so the
// referrers tag scheme is what works there).
func TestAttach(t *testing.T) {
	hosts := map[string]func(t *testing.T) (host string, tagScheme bool){
		// ggcr's registry lists a referrer's config media type as its
		// artifactType (image-spec 1.1 says: the manifest's artifactType
		// first), so filtering by artifact type finds nothing there; see
		// checkReferrers.
		"ggcr with referrers API": func(t *testing.T) (string, bool) {
			return serve(t, registry.New(quiet, registry.WithReferrersSupport(true))), false
		},
		"ggcr without referrers API": func(t *testing.T) (string, bool) { return serve(t, registry.New(quiet)), true },
		"docker-registry":            func(t *testing.T) (string, bool) { return registrytest.Start(t).Host, true },
	}
	for what, start := range hosts {
		t.Run(what, func(t *testing.T) {
			host, tagScheme := start(t)
			repo, err := name.NewRepository(host+"/app", name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			subject := pushRandom(t, repo)
			var first []v1.Descriptor
			for i := 0; i < 2; i++ {
				got, err := Attach(t.Context(), repo, subject, testArtifacts)
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					first = got
				} else if len(got) != 2 || got[0].Digest != first[0].Digest || got[1].Digest != first[1].Digest {
					t.Errorf("attaching again gave other manifests: %v, then %v", first, got)
				}
			}
			checkReferrers(t, repo, subject, first, !tagScheme)
			_, err = remote.Head(repo.Tag(strings.Replace(subject.Digest.String(), ":", "-", 1)))
			if tagScheme && err != nil {
				t.Errorf("the referrers tag is missing: %v", err)
			}
			if !tagScheme && err == nil {
				t.Error("a referrers tag was written though the registry has the referrers API")
			}
		})
	}
}

// quiet keeps ggcr's registry from logging every request.
var quiet = registry.Logger(log.New(io.Discard, "", 0))

func serve(t *testing.T, h http.Handler) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func pushRandom(t *testing.T, repo name.Repository) v1.Descriptor {
	t.Helper()
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref := repo.Tag("v1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	return *d
}

// checkReferrers lists the subject's referrers, all and by artifact type,
// and reads each document back through its artifact manifest.
// With ggcrAPI (ggcr's registry, whose listing takes artifactType from the
// config) the listing's artifact types are the empty config's and the
// filter is not used: the manifests are still checked.
func checkReferrers(t *testing.T, repo name.Repository, subject v1.Descriptor, want []v1.Descriptor, ggcrAPI bool) {
	t.Helper()
	d := repo.Digest(subject.Digest.String())
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != len(testArtifacts) {
		t.Fatalf("%d referrers, want %d: %+v", len(m.Manifests), len(testArtifacts), m.Manifests)
	}
	listed := map[v1.Hash]v1.Descriptor{}
	for _, r := range m.Manifests {
		listed[r.Digest] = r
	}
	for i, a := range testArtifacts {
		wantType := a.ArtifactType
		if ggcrAPI {
			wantType = string(types.OCIEmptyJSON)
		} else {
			idx, err := remote.Referrers(d, remote.WithFilter("artifactType", a.ArtifactType))
			if err != nil {
				t.Fatal(err)
			}
			fm, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			if len(fm.Manifests) != 1 || fm.Manifests[0].Digest != want[i].Digest {
				t.Fatalf("referrers of type %s: %+v, want %v", a.ArtifactType, fm.Manifests, want[i])
			}
		}
		if r := listed[want[i].Digest]; r.ArtifactType != wantType || r.MediaType != want[i].MediaType || r.Size != want[i].Size {
			t.Fatalf("referrer %v is listed as %+v", want[i], r)
		}
		img, err := remote.Image(repo.Digest(want[i].Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		am, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if am.Subject == nil || am.Subject.Digest != subject.Digest || am.ArtifactType != a.ArtifactType || len(am.Layers) != 1 || am.Config.Size != 2 {
			t.Fatalf("artifact manifest %+v", am)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		rc, err := layers[0].Compressed()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(data, a.Data) {
			t.Errorf("document of type %s: %q, %v; want %q", a.ArtifactType, data, err, a.Data)
		}
	}
}

// TestAttachEndlessReferrersIndex: a registry without the referrers API
// whose referrers tag serves an index that never ends: Attach stops at
// MaxDocumentBytes with an error saying it was an index, in seconds.
func TestAttachEndlessReferrersIndex(t *testing.T) {
	host, p := registrytest.InProcess(t)
	repo, err := name.NewRepository(host+"/app", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	subject := pushRandom(t, repo)
	p.Inject(registrytest.Rule{Match: registrytest.ReferrersTagGet, Fault: registrytest.Endless})
	ropts, err := nlregistry.NewOptions().RemoteOptions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Attach(t.Context(), repo, subject, testArtifacts[:1], ropts...)
	took := time.Since(start)
	want := "the index at http://" + host + "/v2/app/manifests/sha256-" + subject.Digest.Hex + " is over 8388608 bytes"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want %q", err, want)
	}
	if took > 10*time.Second {
		t.Errorf("took %v", took)
	}
	if n := p.Count("GET", "/manifests/sha256-"); n != 1 {
		t.Errorf("the endless index was read %d times, want 1 (an oversized document is final)", n)
	}
	t.Logf("%v after %v", err, took.Round(time.Millisecond))
}
