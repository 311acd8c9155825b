package sign

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// keyPair writes a cosign-format encrypted ECDSA P-256 key (what cosign
// generate-key-pair writes) and its public key into dir.
func keyPair(t *testing.T, dir, password string) (priv, pub string) {
	t.Helper()
	privPEM, pubPEM, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte(password)))
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	write(t, priv, privPEM)
	write(t, pub, pubPEM)
	return priv, pub
}

func write(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// pkcs8 writes key as a PEM PKCS#8 file.
func pkcs8(t *testing.T, p string, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write(t, p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	return p
}

func password(pw string) Password { return func() ([]byte, bool) { return []byte(pw), true } }
func noPassword() ([]byte, bool)  { return nil, false }

// TestLoadPrivateKey: the keys taken sign and verify; every bad key is an
// error naming the file, and a FIFO or a device does not block.
func TestLoadPrivateKey(t *testing.T) {
	dir := t.TempDir()
	cosignKey, cosignPub := keyPair(t, dir, "s3cret")
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sparse := filepath.Join(dir, "sparse")
	if f, err := os.Create(sparse); err != nil || f.Truncate(1<<30) != nil || f.Close() != nil {
		t.Fatal("sparse file", err)
	}
	garbage := filepath.Join(dir, "garbage")
	write(t, garbage, []byte("not a key at all\n"))
	empty := filepath.Join(dir, "empty")
	write(t, empty, nil)
	good := []struct {
		name, path string
		pw         Password
	}{
		{"cosign", cosignKey, password("s3cret")},
		{"ed25519", pkcs8(t, filepath.Join(dir, "ed.pem"), ed), noPassword},
		{"ecdsa", pkcs8(t, filepath.Join(dir, "ec.pem"), ec), noPassword},
	}
	for _, c := range good {
		t.Run(c.name, func(t *testing.T) {
			k, err := LoadPrivateKey(c.path, c.pw)
			if err != nil {
				t.Fatal(err)
			}
			ref, _ := name.NewDigest("example.com/a/b@sha256:" + strings.Repeat("ab", 32))
			l, err := k.SignManifest(ref)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := v1.NewHash(ref.DigestStr())
			if err := k.Verifier().VerifySignature(l, d); err != nil {
				t.Error(err)
			}
		})
	}
	bad := []struct {
		name, path string
		pw         Password
		want       string
	}{
		{"missing", filepath.Join(dir, "nope"), noPassword, "no such file"},
		{"directory", dir, noPassword, "directory"},
		{"FIFO", fifo, noPassword, "FIFO"},
		{"/dev/zero", "/dev/zero", noPassword, "device"},
		{"1 GiB sparse", sparse, noPassword, "limit"},
		{"garbage", garbage, noPassword, "not a PEM file"},
		{"empty", empty, noPassword, "empty"},
		{"public key", cosignPub, noPassword, "public key"},
		{"RSA", pkcs8(t, filepath.Join(dir, "rsa.pem"), rsaKey), noPassword, "RSA"},
		{"P-384", pkcs8(t, filepath.Join(dir, "p384.pem"), ec384), noPassword, "P-384"},
		{"no password", cosignKey, noPassword, "COSIGN_PASSWORD"},
		{"wrong password", cosignKey, password("wrong"), "wrong password"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := LoadPrivateKey(c.path, c.pw)
			if err == nil {
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %s and say %q", err, c.path, c.want)
			}
			if time.Since(start) > 20*time.Second {
				t.Errorf("took %s", time.Since(start))
			}
		})
	}
	t.Run("public keys", func(t *testing.T) {
		if _, err := LoadPublicKey(cosignPub); err != nil {
			t.Error(err)
		}
		for _, p := range []string{cosignKey, garbage, fifo, "/dev/zero"} {
			if _, err := LoadPublicKey(p); err == nil || !strings.Contains(err.Error(), p) {
				t.Errorf("LoadPublicKey(%s): %v", p, err)
			}
		}
	})
}

func statement(t *testing.T, digest v1.Hash, predicateType string, pad int) []byte {
	t.Helper()
	data, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": "img", "digest": map[string]string{digest.Algorithm: digest.Hex}}},
		"predicateType": predicateType,
		"predicate":     map[string]any{"pad": strings.Repeat("x", pad)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestAttest: an attestation verifies with the key, names its subject;
// a tampered envelope, another key, another subject or an oversized
// statement fail.
func TestAttest(t *testing.T) {
	dir := t.TempDir()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	k, err := LoadPrivateKey(pkcs8(t, filepath.Join(dir, "k.pem"), ed), noPassword)
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, err := LoadPrivateKey(pkcs8(t, filepath.Join(dir, "other.pem"), ec), noPassword)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := v1.NewHash("sha256:" + strings.Repeat("cd", 32))
	st := statement(t, d, SLSAProvenanceV1, 10)
	l, err := k.Attest(st)
	if err != nil {
		t.Fatal(err)
	}
	if l.Annotations[PredicateTypeAnnotation] != SLSAProvenanceV1 {
		t.Errorf("annotations %v", l.Annotations)
	}
	s, raw, err := k.Verifier().VerifyAttestation(l, d)
	if err != nil || s.PredicateType != SLSAProvenanceV1 || string(raw) != string(st) {
		t.Fatalf("VerifyAttestation: %v, %v", s, err)
	}
	var env map[string]any
	if err := json.Unmarshal(l.Data, &env); err != nil {
		t.Fatal(err)
	}
	env["payload"] = base64.StdEncoding.EncodeToString(statement(t, d, SLSAProvenanceV1, 11))
	tampered, _ := json.Marshal(env)
	otherDigest, _ := v1.NewHash("sha256:" + strings.Repeat("ef", 32))
	for name, c := range map[string]struct {
		l Layer
		v *Verifier
		d v1.Hash
	}{
		"tampered":  {Layer{MediaType: DSSEMediaType, Data: tampered}, k.Verifier(), d},
		"other key": {l, other.Verifier(), d},
		"subject":   {l, k.Verifier(), otherDigest},
	} {
		if _, _, err := c.v.VerifyAttestation(c.l, c.d); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
	if _, err := k.Attest(statement(t, d, SLSAProvenanceV1, MaxStatementBytes)); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("an oversized statement: %v", err)
	}
	for name, bad := range map[string]string{"not JSON": "{", "not a statement": `{"_type":"x"}`, "no subject": `{"_type":"https://in-toto.io/Statement/v1","predicateType":"p"}`} {
		if _, err := k.Attest([]byte(bad)); err == nil {
			t.Errorf("%s: attested", name)
		}
	}
	t.Run("merge", func(t *testing.T) {
		again, err := k.Attest(st)
		if err != nil {
			t.Fatal(err)
		}
		if got := Merge([]Layer{l}, []Layer{again}, k.Verifier()); len(got) != 1 {
			t.Errorf("the same statement again: %d layers", len(got))
		}
		if got := Merge([]Layer{l}, []Layer{again}, other.Verifier()); len(got) != 2 {
			t.Errorf("another signer: %d layers", len(got))
		}
		img, err := Image(Merge(nil, []Layer{l}, k.Verifier()))
		if err != nil {
			t.Fatal(err)
		}
		back, err := Layers(img)
		if err != nil || len(back) != 1 || string(back[0].Data) != string(l.Data) || back[0].Annotations[PredicateTypeAnnotation] != SLSAProvenanceV1 {
			t.Errorf("Layers(Image(l)) = %v, %v", back, err)
		}
	})
}

// TestLayersBounds: a cosign image over the bounds is refused before its
// layers are read.
func TestLayersBounds(t *testing.T) {
	one := Layer{MediaType: SimpleSigningMediaType, Data: []byte("x")}
	many := make([]Layer, MaxLayers+1)
	for i := range many {
		many[i] = Layer{MediaType: one.MediaType, Data: []byte{byte(i), byte(i >> 8)}}
	}
	big := Layer{MediaType: DSSEMediaType, Data: make([]byte, maxLayerBytes+1)}
	total := []Layer{{MediaType: DSSEMediaType, Data: make([]byte, maxLayerBytes)}, {MediaType: DSSEMediaType, Data: make([]byte, maxLayerBytes-1)}, {MediaType: DSSEMediaType, Data: make([]byte, 2)}}
	for name, c := range map[string]struct {
		layers []Layer
		want   string
	}{"layers": {many, "over the 1000"}, "one layer": {[]Layer{big}, "byte limit"}, "together": {total, "together"}} {
		img, err := Image(c.layers)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Layers(img); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
