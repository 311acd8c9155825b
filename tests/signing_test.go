package tests

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/provenance"
	"github.com/nixlayer/nixlayer/registry"
	"github.com/nixlayer/nixlayer/sign"
	"github.com/nixlayer/nixlayer/source"
)

// cachedTool is a tool tests/setup.sh builds into the cache directory
// (~/.cache/nixlayer-tools/bin), else one on PATH, else the test skips
// saying why. probe is an argument list the tool must run with.
func cachedTool(t *testing.T, tool string, probe ...string) string {
	t.Helper()
	if dir, err := os.UserCacheDir(); err == nil {
		if p := filepath.Join(dir, "nixlayer-tools", "bin", tool); exec.Command(p, probe...).Run() == nil {
			return p
		}
	}
	return testutil.RequireTool(t, tool)
}

// signKeys are the keys the signing tests use: a cosign key (encrypted,
// as cosign generate-key-pair writes it), an Ed25519 PKCS#8 key, and a
// public key of neither.
type signKeys struct {
	dir                               string
	cosign, cosignPub, cosignPassword string
	ed, edPub                         string
	otherPub                          string
}

func makeSignKeys(t *testing.T) signKeys {
	t.Helper()
	k := signKeys{dir: t.TempDir(), cosignPassword: "correct horse"}
	priv, pub, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte(k.cosignPassword)))
	if err != nil {
		t.Fatal(err)
	}
	k.cosign, k.cosignPub = k.file(t, "cosign.key", priv), k.file(t, "cosign.pub", pub)
	edPub, ed, _ := ed25519.GenerateKey(rand.Reader)
	k.ed = k.file(t, "ed.pem", pemOf(t, "PRIVATE KEY", ed))
	k.edPub = k.file(t, "ed.pub", pemOf(t, "PUBLIC KEY", edPub))
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k.otherPub = k.file(t, "other.pub", pemOf(t, "PUBLIC KEY", other.Public()))
	return k
}

func (k signKeys) file(t *testing.T, base string, data []byte) string {
	t.Helper()
	p := filepath.Join(k.dir, base)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pemOf(t *testing.T, typ string, key any) []byte {
	t.Helper()
	var der []byte
	var err error
	if typ == "PUBLIC KEY" {
		der, err = x509.MarshalPKIXPublicKey(key)
	} else {
		der, err = x509.MarshalPKCS8PrivateKey(key)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// provenanceStatement writes an in-toto statement with a SLSA v1
// provenance predicate whose subject is digest.
func provenanceStatement(t *testing.T, dir string, digest v1.Hash) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "image", "digest": map[string]string{"sha256": digest.Hex}}},
		"predicateType": sign.SLSAProvenanceV1,
		"predicate": map[string]any{
			"buildDefinition": map[string]any{"buildType": "https://nixlayer.dev/test/v1", "externalParameters": map[string]any{"test": true}},
			"runDetails":      map[string]any{"builder": map[string]any{"id": "https://nixlayer.dev/test"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "statement-"+digest.Hex[:12]+".json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// cosignRun runs the cosign CLI offline against the loopback registry.
func cosignRun(cosign string, args ...string) (string, error) {
	cmd := exec.Command(cosign, args...)
	cmd.Env = append(os.Environ(), "HOME="+os.TempDir(), "COSIGN_EXPERIMENTAL=1", "TUF_ROOT="+filepath.Join(os.TempDir(), "nixlayer-test-tuf"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// cosignVerify runs cosign verify (or verify-attestation --type att when
// att is not "") of ref with the public key pub.
func cosignVerify(cosign, ref, pub string, att string, extra ...string) (string, error) {
	args := []string{"verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry"}
	if att != "" {
		args = []string{"verify-attestation", "--key", pub, "--type", att, "--insecure-ignore-tlog=true", "--allow-http-registry"}
	}
	return cosignRun(cosign, append(append(args, extra...), ref)...)
}

func pushedDigest(t *testing.T, out string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("push printed %q: %v", out, err)
	}
	return d
}

func hashOf(t *testing.T, d name.Digest) v1.Hash {
	t.Helper()
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestSignPush: `nixlayer push --sign-key` signs the pushed image and
// attests the statements given, in the forms the real cosign CLI
// verifies, on the real docker-registry (no referrers API: cosign's tags,
// and the referrers tag for --experimental-oci11); for a multi-platform
// index, the index and each image. Another key, a tampered attestation
// fail cosign and `nixlayer verify`; `nixlayer verify` names a layer
// pushed from another build.
func TestSignPush(t *testing.T) {
	f := &signTest{cosign: cachedTool(t, "cosign", "version"), exe: testutil.Exe(t), reg: registrytest.Start(t), keys: makeSignKeys(t)}
	paths := strings.Fields(testutil.NixBuild(t, `[
	  (nl.buildLayeredImage { name = "signed"; tag = "v1"; contents = [ testPkgs.hello ]; })
	  (nl.buildImageIndex { name = "signed-idx"; tag = "v1"; images = [
	    (nl.buildLayeredImage { name = "signed-idx"; tag = "amd64"; architecture = "amd64"; contents = [ testPkgs.hello ]; })
	    (nl.buildLayeredImage { name = "signed-idx"; tag = "arm64"; architecture = "arm64"; contents = [ testPkgs.twins ]; }) ]; })
	  (nl.buildLayeredImage { name = "other"; tag = "v1"; contents = [ testPkgs.twins ]; })
	  (nl.streamLayeredImage { name = "signed"; tag = "v1"; contents = [ testPkgs.hello ]; }) ]`))
	if len(paths) != 4 {
		t.Fatalf("nix-build printed %q", paths)
	}
	f.img, f.idx, f.other, f.stream = paths[0], paths[1], paths[2], paths[3]
	t.Run("image", f.image)
	t.Run("ed25519", f.ed25519)
	t.Run("index", f.index)
	t.Run("tampered attestation", f.tampered)
	t.Run("layer of another build", f.mixed)
	t.Run("referrers API", f.referrers)
	t.Run("stream script", f.streamScript)
	t.Run("unsigned provenance", f.unsignedProvenance)
}

// unsignedProvenance: push without a key attaches the image's provenance
// statement as an unsigned in-toto referrer; --no-provenance does not.
func (f *signTest) unsignedProvenance(t *testing.T) {
	want, err := provenance.Of(f.img)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		flag string
		n    int
	}{{"--no-sbom", 1}, {"--no-provenance", 0}} {
		ref := pushedDigest(t, testutil.Run(t, "", nil, f.exe, "push", "--quiet", "--no-sbom", c.flag, f.img, f.reg.Host+"/sign/unsigned"+c.flag+":v1"))
		idx, err := remote.Referrers(ref)
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil || len(im.Manifests) != c.n {
			t.Fatalf("%s: referrers %v, %v; want %d", c.flag, im, err, c.n)
		}
		if c.n == 0 {
			continue
		}
		art, err := remote.Image(ref.Context().Digest(im.Manifests[0].Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		ls, err := sign.Layers(art)
		if err != nil || len(ls) != 1 || !bytes.Equal(ls[0].Data, want.JSON) || im.Manifests[0].ArtifactType != sign.InTotoPayloadType {
			t.Errorf("the referrer is not the image's provenance statement (%s, %v)", im.Manifests[0].ArtifactType, err)
		}
	}
}

// signTest is TestSignPush's registry, keys and images.
type signTest struct {
	cosign, exe     string
	reg             *registrytest.Registry
	keys            signKeys
	img, idx, other string
	stream          string
}

// slsa is cosign's name of the SLSA v1 provenance predicate type.
const slsa = "slsaprovenance1"

// self attests no statement of the test's own: the image's provenance
// statement, which push attaches, is the one attested.
func self(name.Digest) []name.Digest { return nil }

// signPush pushes src to dest, learns its digest, and pushes it again
// signed with key, attesting a statement for each manifest attest picks.
func (f *signTest) signPush(t *testing.T, src, dest string, key string, attest func(name.Digest) []name.Digest) name.Digest {
	t.Helper()
	ref := pushedDigest(t, testutil.Run(t, "", nil, f.exe, "push", "--quiet", src, dest))
	args := []string{"push", "--sign-key", key}
	for _, d := range attest(ref) {
		args = append(args, "--attest", provenanceStatement(t, f.keys.dir, hashOf(t, d)))
	}
	env := []string{sign.DefaultPasswordEnv + "=" + f.keys.cosignPassword}
	out, errOut, err := testutil.RunErr("", env, f.exe, append(args, src, dest)...)
	if err != nil || strings.Contains(errOut, "warning") {
		t.Fatalf("signed push: %v\n%s", err, errOut)
	}
	if again := pushedDigest(t, out); again != ref {
		t.Fatalf("the signed push printed %s, the first %s", again, ref)
	}
	for _, want := range []string{"attached the signature of " + ref.String() + " as " + ref.Context().Tag(sign.SignatureTag(hashOf(t, ref))).String(), "attached the https://slsa.dev/provenance/v1 attestation of"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("push did not say %q:\n%s", want, errOut)
		}
	}
	return ref
}

// cosignVerifies checks that cosign verifies (or, with want false,
// refuses) the signature or, when att is a type, the attestation of each ref.
func (f *signTest) cosignVerifies(t *testing.T, pub string, want bool, att string, refs []name.Digest, extra ...string) {
	t.Helper()
	for _, r := range refs {
		out, err := cosignVerify(f.cosign, r.String(), pub, att, extra...)
		if (err == nil) != want {
			t.Errorf("cosign verify (attestation: %v, %v) %s with %s: %v, want it to verify: %v\n%s", att, extra, r, filepath.Base(pub), err, want, out)
		}
	}
}

func (f *signTest) image(t *testing.T) {
	ref := f.signPush(t, f.img, f.reg.Host+"/sign/image:v1", f.keys.cosign, self)
	refs := []name.Digest{ref}
	f.cosignVerifies(t, f.keys.cosignPub, true, "", refs)
	f.cosignVerifies(t, f.keys.cosignPub, true, "", refs, "--experimental-oci11")
	f.cosignVerifies(t, f.keys.cosignPub, true, slsa, refs)
	// The image's SBOM documents, attested with the same key.
	f.cosignVerifies(t, f.keys.cosignPub, true, "spdxjson", refs)
	f.cosignVerifies(t, f.keys.cosignPub, true, "cyclonedx", refs)
	f.cosignVerifies(t, f.keys.otherPub, false, "", refs)
	f.cosignVerifies(t, f.keys.otherPub, false, slsa, refs)
	out := testutil.Run(t, "", nil, f.exe, "verify", "--quiet", "--image", f.img, "--key", f.keys.cosignPub, f.reg.Host+"/sign/image:v1")
	for _, want := range []string{"signature of " + ref.DigestStr() + " verifies", "SLSA provenance attestation verifies with " + f.keys.cosignPub + ", and is the local build's statement", ref.String() + " is " + f.img} {
		if !strings.Contains(out, want) {
			t.Errorf("verify did not say %q:\n%s", want, out)
		}
	}
	if _, errOut, err := testutil.RunErr("", nil, f.exe, "verify", "--quiet", "--image", f.img, "--key", f.keys.otherPub, ref.String()); err == nil || !strings.Contains(errOut, "verifies with "+f.keys.otherPub) {
		t.Errorf("verify with another key: %v\n%s", err, errOut)
	}
	// Signing again adds no signature: the tag holds one.
	f.signPush(t, f.img, f.reg.Host+"/sign/image:v1", f.keys.cosign, self)
	sigs, err := remote.Image(ref.Context().Tag(sign.SignatureTag(hashOf(t, ref))))
	if err != nil {
		t.Fatal(err)
	}
	if ls, err := sigs.Layers(); err != nil || len(ls) != 1 {
		t.Errorf("after signing twice the signature tag holds %d layers (%v), want 1", len(ls), err)
	}
}

func (f *signTest) ed25519(t *testing.T) {
	refs := []name.Digest{f.signPush(t, f.img, f.reg.Host+"/sign/ed:v1", f.keys.ed, self)}
	f.cosignVerifies(t, f.keys.edPub, true, "", refs)
	f.cosignVerifies(t, f.keys.edPub, true, slsa, refs)
}

func (f *signTest) index(t *testing.T) {
	var children []name.Digest
	ref := f.signPush(t, f.idx, f.reg.Host+"/sign/index:v1", f.keys.cosign, func(d name.Digest) []name.Digest {
		ii, err := remote.Index(d)
		if err != nil {
			t.Fatal(err)
		}
		im, err := ii.IndexManifest()
		if err != nil || len(im.Manifests) != 2 {
			t.Fatalf("pushed index: %v, %v", im, err)
		}
		for _, m := range im.Manifests {
			children = append(children, d.Context().Digest(m.Digest.String()))
		}
		return nil // each image's own provenance statement is attested
	})
	f.cosignVerifies(t, f.keys.cosignPub, true, "", append([]name.Digest{ref}, children...))
	f.cosignVerifies(t, f.keys.cosignPub, true, slsa, children)
	f.cosignVerifies(t, f.keys.cosignPub, true, "spdxjson", children)
	f.cosignVerifies(t, f.keys.otherPub, false, "", append([]name.Digest{ref}, children...))
	out := testutil.Run(t, "", nil, f.exe, "verify", "--quiet", "--image", f.idx, "--key", f.keys.cosignPub, ref.String())
	if strings.Count(out, "SLSA provenance attestation verifies") != 2 || strings.Count(out, "verifies with") != 5 {
		t.Errorf("verify of the index:\n%s", out)
	}
}

func (f *signTest) tampered(t *testing.T) {
	ref := f.signPush(t, f.img, f.reg.Host+"/sign/tampered:v1", f.keys.cosign, self)
	f.cosignVerifies(t, f.keys.cosignPub, true, slsa, []name.Digest{ref})
	tamperAttestation(t, ref)
	f.cosignVerifies(t, f.keys.cosignPub, false, slsa, []name.Digest{ref})
	_, errOut, err := testutil.RunErr("", nil, f.exe, "verify", "--quiet", "--image", f.img, "--key", f.keys.cosignPub, ref.String())
	if err == nil || !strings.Contains(errOut, "no SLSA provenance attestation") {
		t.Errorf("verify passed a tampered attestation: %v\n%s", err, errOut)
	}
}

func (f *signTest) mixed(t *testing.T) {
	dest := f.reg.Host + "/sign/mixed:v1"
	want, got := mixLayer(t, f.img, f.other, dest)
	_, errOut, err := testutil.RunErr("", nil, f.exe, "verify", "--quiet", "--image", f.img, dest)
	if err == nil {
		t.Fatalf("verify passed an image with a layer of another build:\n%s", errOut)
	}
	if line := fmt.Sprintf("layer 1 of %d: the registry has %s, the local build %s", want.n, got, want.digest); !strings.Contains(errOut, line) {
		t.Errorf("verify did not say %q:\n%s", line, errOut)
	}
}

// streamScript: a pushed and signed stream script verifies against
// itself (its manifest is computed as push computes it), and cosign
// verifies its attestation.
func (f *signTest) streamScript(t *testing.T) {
	dest := f.reg.Host + "/sign/stream:v1"
	ref := f.signPush(t, f.stream, dest, f.keys.ed, self)
	out := testutil.Run(t, "", nil, f.exe, "verify", "--quiet", "--image", f.stream, "--key", f.keys.edPub, dest)
	if !strings.Contains(out, ref.String()+" is "+f.stream) {
		t.Errorf("verify of a stream script:\n%s", out)
	}
	f.cosignVerifies(t, f.keys.edPub, true, slsa, []name.Digest{ref})
}

// referrers: on a registry with the referrers API (go-containerregistry's
// own, which lists a referrer by its config's media type, as older
// registries do) the signature and the attestation are referrers, and no referrers
// tag is made; with cosign's signature tag deleted, cosign verify
// --experimental-oci11 still verifies, from the referrer alone.
func (f *signTest) referrers(t *testing.T) {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(true)))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := f.signPush(t, f.img, host+"/sign/referrers:v1", f.keys.cosign, self)
	idx, err := remote.Referrers(ref)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, d := range im.Manifests {
		types[d.ArtifactType] = true
	}
	if !types[sign.SignatureArtifactType] || !types[sign.InTotoPayloadType] {
		t.Errorf("referrers of %s: %v", ref, im.Manifests)
	}
	if _, err := remote.Head(ref.Context().Tag(strings.Replace(ref.DigestStr(), ":", "-", 1))); !registry.IsNotFound(err) {
		t.Errorf("a referrers tag on a registry with the referrers API: %v", err)
	}
	if err := remote.Delete(ref.Context().Tag(sign.SignatureTag(hashOf(t, ref)))); err != nil {
		t.Fatal(err)
	}
	f.cosignVerifies(t, f.keys.cosignPub, false, "", []name.Digest{ref})
	f.cosignVerifies(t, f.keys.cosignPub, true, "", []name.Digest{ref}, "--experimental-oci11")
}

// tamperAttestation rewrites the attestation under ref's cosign tag: the
// statement inside the envelope changed, its signature kept.
func tamperAttestation(t *testing.T, ref name.Digest) {
	t.Helper()
	tag := ref.Context().Tag(sign.AttestationTag(hashOf(t, ref)))
	att, err := remote.Image(tag)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := sign.Layers(att)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ls, func(l sign.Layer) bool { return l.Annotations[sign.PredicateTypeAnnotation] == sign.SLSAProvenanceV1 })
	if i < 0 {
		t.Fatalf("no provenance attestation under %s", tag)
	}
	var env map[string]any
	if err := json.Unmarshal(ls[i].Data, &env); err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
	env["payload"] = base64.StdEncoding.EncodeToString(append(raw, ' ')) // still JSON, no longer what was signed
	if ls[i].Data, err = json.Marshal(env); err != nil {
		t.Fatal(err)
	}
	img, err := sign.Image(ls)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
}

type layerAt struct {
	n      int
	digest v1.Hash
}

// mixLayer pushes to dest the image at src with its first layer taken
// from the image at other, and returns src's first layer (and layer
// count) and the one pushed instead.
func mixLayer(t *testing.T, src, other, dest string) (layerAt, v1.Hash) {
	t.Helper()
	open := func(p string) v1.Image {
		s, err := source.Open(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s.Image
	}
	a, b := open(src), open(other)
	la, err := a.Layers()
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.Layers()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := a.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.RootFS.DiffIDs, cf.History = nil, nil
	mt, _ := a.MediaType()
	base, err := mutate.ConfigFile(mutate.MediaType(empty.Image, mt), cf)
	if err != nil {
		t.Fatal(err)
	}
	mixed := append([]v1.Layer{lb[0]}, la[1:]...)
	hybrid, err := mutate.AppendLayers(base, mixed...)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(dest)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, hybrid); err != nil {
		t.Fatal(err)
	}
	wa, _ := la[0].Digest()
	wb, _ := lb[0].Digest()
	return layerAt{len(la), wa}, wb
}

// TestSignPushBadInput: a key that cannot sign (missing, a directory, a
// FIFO, /dev/zero, 1 GiB sparse, garbage, a public key, RSA, a wrong or
// missing password) and an oversized or foreign statement stop the push
// before anything is pushed, naming the file; a registry refusing the
// signatures and attestations gets the image and a warning naming what
// was not attached.
func TestSignPushBadInput(t *testing.T) {
	exe := testutil.Exe(t)
	reg := registrytest.Start(t)
	keys := makeSignKeys(t)
	img := testutil.NixBuild(t, `nl.buildLayeredImage { name = "signed"; tag = "v1"; contents = [ testPkgs.hello ]; }`)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(dir, "sparse")
	if f, err := os.Create(sparse); err != nil || f.Truncate(1<<30) != nil || f.Close() != nil {
		t.Fatal("sparse file", err)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	garbage := keys.file(t, "garbage", []byte("-----BEGIN NOTHING-----\n"))
	rsaPath := keys.file(t, "rsa.pem", pemOf(t, "PRIVATE KEY", rsaKey))
	good := []string{sign.DefaultPasswordEnv + "=" + keys.cosignPassword}
	big := keys.file(t, "big.json", []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":[{"digest":{"sha256":"00"}}],"x":"`+strings.Repeat("x", sign.MaxStatementBytes)+`"}`))
	cases := []struct {
		name string
		args []string
		env  []string
		want []string
	}{
		{"missing", []string{"--sign-key", filepath.Join(dir, "nope")}, nil, []string{filepath.Join(dir, "nope"), "no such file"}},
		{"directory", []string{"--sign-key", dir}, nil, []string{dir, "directory"}},
		{"FIFO", []string{"--sign-key", fifo}, nil, []string{fifo, "FIFO"}},
		{"/dev/zero", []string{"--sign-key", "/dev/zero"}, nil, []string{"/dev/zero", "device"}},
		{"sparse", []string{"--sign-key", sparse}, nil, []string{sparse, "limit"}},
		{"garbage", []string{"--sign-key", garbage}, nil, []string{garbage}},
		{"public key", []string{"--sign-key", keys.cosignPub}, nil, []string{keys.cosignPub, "public key"}},
		{"RSA", []string{"--sign-key", rsaPath}, nil, []string{rsaPath, "RSA"}},
		{"no password", []string{"--sign-key", keys.cosign}, nil, []string{keys.cosign, "COSIGN_PASSWORD"}},
		{"wrong password", []string{"--sign-key", keys.cosign}, []string{sign.DefaultPasswordEnv + "=wrong"}, []string{keys.cosign, "wrong password"}},
		{"password variable", []string{"--sign-key", keys.cosign, "--sign-key-password-env", "NIXLAYER_TEST_PW"}, good, []string{keys.cosign, "encrypted"}},
		{"oversized attestation", []string{"--sign-key", keys.cosign, "--attest", big}, good, []string{big, "limit"}},
		{"not a statement", []string{"--attest", keys.cosignPub}, nil, []string{keys.cosignPub, "--attest"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dest := fmt.Sprintf("%s/sign/bad%d:v1", reg.Host, i)
			_, errOut, err := testutil.RunErr("", c.env, exe, append(append([]string{"push", "--quiet"}, c.args...), img, dest)...)
			if err == nil {
				t.Fatalf("push succeeded:\n%s", errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("the error does not say %q:\n%s", w, errOut)
				}
			}
			r, err := name.ParseReference(dest)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := remote.Head(r); !registry.IsNotFound(err) {
				t.Errorf("%s was pushed (or the registry failed): %v", dest, err)
			}
		})
	}
	t.Run("copyToRegistry", func(t *testing.T) {
		dest := reg.Host + "/sign/app:v1"
		app := testutil.NixBuild(t, fmt.Sprintf(`nl.copyToRegistry { image = %q; destination = %q; signKey = %q; signKeyPasswordEnv = "NIXLAYER_TEST_PW"; }`, img, dest, keys.cosign))
		ref := pushedDigest(t, testutil.Run(t, "", nil, exe, "push", "--quiet", img, dest))
		statement := provenanceStatement(t, keys.dir, hashOf(t, ref))
		out := testutil.Run(t, "", []string{"NIXLAYER_TEST_PW=" + keys.cosignPassword}, filepath.Join(app, "bin", "copy-to-registry"), "--quiet", "--attest", statement)
		if got := pushedDigest(t, out); got != ref {
			t.Fatalf("copy-to-registry printed %s, want %s", got, ref)
		}
		testutil.Run(t, "", nil, exe, "verify", "--quiet", "--image", img, "--key", keys.cosignPub, ref.String())
		_, errOut, err := testutil.NixBuildErr(t, fmt.Sprintf(`nl.copyToRegistry { image = %q; destination = %q; signKey = %s; }`, img, dest, keys.cosign))
		if err == nil || !strings.Contains(errOut, "signKey must be a string") {
			t.Errorf("a Nix path as signKey: %v\n%s", err, errOut)
		}
	})
	t.Run("verify", func(t *testing.T) {
		dest := reg.Host + "/sign/verify-bad:v1"
		testutil.Run(t, "", nil, exe, "push", "--quiet", img, dest)
		for _, c := range []struct {
			name string
			args []string
			want []string
		}{
			{"no such image", []string{"--image", filepath.Join(dir, "nope"), dest}, []string{filepath.Join(dir, "nope")}},
			{"image is a FIFO", []string{"--image", fifo, dest}, []string{fifo, "not a regular file"}},
			{"private key", []string{"--image", img, "--key", keys.cosign, dest}, []string{keys.cosign, "not a PEM public key"}},
			{"key is /dev/zero", []string{"--image", img, "--key", "/dev/zero", dest}, []string{"/dev/zero", "device"}},
			{"no such tag", []string{"--image", img, reg.Host + "/sign/verify-bad:nope"}, []string{"verify-bad:nope", "MANIFEST_UNKNOWN"}},
			{"unsigned", []string{"--image", img, "--key", keys.cosignPub, dest}, []string{"no signature (the registry has no tag sha256-", "no attestation"}},
		} {
			_, errOut, err := testutil.RunErr("", nil, exe, append([]string{"verify", "--quiet"}, c.args...)...)
			if err == nil {
				t.Errorf("%s: verify passed:\n%s", c.name, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("%s: the error does not say %q:\n%s", c.name, w, errOut)
				}
			}
		}
	})
	t.Run("registry refuses", func(t *testing.T) {
		proxy := registrytest.NewProxy(t, reg.Host)
		proxy.Inject(registrytest.Rule{Match: func(r *http.Request) bool {
			return registrytest.ManifestPut(r) && (strings.Contains(r.URL.Path, "/manifests/sha256:") || strings.HasSuffix(r.URL.Path, ".sig") || strings.HasSuffix(r.URL.Path, ".att"))
		}, Fault: registrytest.Status, Code: http.StatusBadRequest})
		dest := proxy.Host + "/sign/refused:v1"
		ref := pushedDigest(t, testutil.Run(t, "", nil, exe, "push", "--quiet", "--no-sbom", img, dest))
		statement := provenanceStatement(t, keys.dir, hashOf(t, ref))
		out, errOut, err := testutil.RunErr("", good, exe, "push", "--quiet", "--no-sbom", "--sign-key", keys.cosign, "--attest", statement, img, dest)
		if err != nil || strings.TrimSpace(out) != ref.String() {
			t.Fatalf("push to a registry refusing signatures failed: %v\n%s%s", err, out, errOut)
		}
		for _, w := range []string{"warning:", "the signature of " + ref.String() + " under the tag " + sign.SignatureTag(hashOf(t, ref)), "the https://slsa.dev/provenance/v1 attestation of " + ref.String() + " under the tag", "as a referrer", "400"} {
			if !strings.Contains(errOut, w) {
				t.Errorf("the warning does not say %q:\n%s", w, errOut)
			}
		}
	})
}
