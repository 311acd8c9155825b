package push

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/nixlayer/nixlayer/sign"
)

func testKey(t *testing.T) *sign.Key {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := sign.LoadPrivateKey(p, func() ([]byte, bool) { return nil, false })
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testStatement(t *testing.T, d v1.Hash) []byte {
	t.Helper()
	data, err := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": sign.SLSAProvenanceV1,
		"subject": []any{map[string]any{"digest": map[string]string{"sha256": d.Hex}}}, "predicate": map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// tagLayers reads the layers under a cosign tag.
func tagLayers(t *testing.T, ref name.Tag) []sign.Layer {
	t.Helper()
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := sign.Layers(img)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}

// TestSign: Sign puts a signature and an attestation under cosign's
// tags (each once, however often it runs) that verify with the key, and
// as referrers; a statement of another manifest is an error naming it,
// and the rest is still attached; without a key the statement is an
// unsigned referrer.
func TestSign(t *testing.T) {
	repo, err := name.NewRepository(serve(t, registry.New(quiet, registry.WithReferrersSupport(true)))+"/app", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	subject := pushRandom(t, repo)
	pushed := &Pushed{Reference: repo.Digest(subject.Digest.String()).String(), Digest: subject.Digest, Manifest: subject}
	key := testKey(t)
	other, _ := v1.NewHash("sha256:" + strings.Repeat("0", 64))
	for i := 0; i < 2; i++ {
		done, err := Sign(t.Context(), pushed, key, [][]byte{testStatement(t, subject.Digest), testStatement(t, other)}, fast)
		if err == nil || !strings.Contains(err.Error(), "attestation 2") || !strings.Contains(err.Error(), "names none of the pushed manifests") {
			t.Errorf("a statement of another manifest: %v", err)
		}
		if len(done) != 4 {
			t.Errorf("attached %q, want the signature and the attestation, each under its tag and as a referrer", done)
		}
	}
	sigs := tagLayers(t, repo.Tag(sign.SignatureTag(subject.Digest)))
	if len(sigs) != 1 || key.Verifier().VerifySignature(sigs[0], subject.Digest) != nil {
		t.Errorf("signature tag: %d layers", len(sigs))
	}
	atts := tagLayers(t, repo.Tag(sign.AttestationTag(subject.Digest)))
	if len(atts) != 1 {
		t.Fatalf("attestation tag: %d layers", len(atts))
	}
	if _, _, err := key.Verifier().VerifyAttestation(atts[0], subject.Digest); err != nil {
		t.Error(err)
	}

	// A statement is attached to each manifest its subject names.
	both := testStatement(t, subject.Digest)
	both = []byte(strings.Replace(string(both), `"subject":[`, `"subject":[{"digest":{"sha256":"`+other.Hex+`"}},`, 1))
	if _, err := Sign(t.Context(), pushed, key, [][]byte{both}, fast); err != nil {
		t.Errorf("a statement naming two manifests, one pushed: %v", err)
	}

	t.Run("index", func(t *testing.T) {
		idx, err := random.Index(64, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.WriteIndex(repo.Tag("idx"), idx); err != nil {
			t.Fatal(err)
		}
		d, _ := partial.Descriptor(idx)
		im, _ := idx.IndexManifest()
		p := &Pushed{Reference: repo.Digest(d.Digest.String()).String(), Manifest: *d}
		var statements [][]byte
		for _, m := range im.Manifests {
			statements = append(statements, testStatement(t, m.Digest))
		}
		done, err := Sign(t.Context(), p, key, statements, fast)
		if err != nil || len(done) != 3*2+2*2 {
			t.Errorf("signing an index and its two images, attesting each image: %d attached, %v", len(done), err)
		}
	})

	unsigned := pushRandom(t, repo)
	p2 := &Pushed{Reference: repo.Digest(unsigned.Digest.String()).String(), Manifest: unsigned}
	done, err := Sign(t.Context(), p2, nil, [][]byte{testStatement(t, unsigned.Digest)}, fast)
	if err != nil || len(done) != 1 || !strings.Contains(done[0], "(unsigned) as a referrer") {
		t.Errorf("without a key: %q, %v", done, err)
	}
	if _, err := remote.Head(repo.Tag(sign.SignatureTag(unsigned.Digest))); err == nil {
		t.Error("a signature tag without a key")
	}
}
