package sign

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/nixlayer/nixlayer/internal/regularfile"
)

// MaxKeyBytes bounds a key file: a PEM key is a few hundred bytes.
const MaxKeyBytes = 64 << 10

// DefaultPasswordEnv is the environment variable that holds the password
// of an encrypted cosign key, as for cosign itself.
const DefaultPasswordEnv = "COSIGN_PASSWORD"

// The PEM block types of the keys LoadPrivateKey and LoadPublicKey know.
const (
	pemEncryptedSigstore = "ENCRYPTED SIGSTORE PRIVATE KEY" // cosign generate-key-pair (v2)
	pemEncryptedCosign   = "ENCRYPTED COSIGN PRIVATE KEY"   // cosign generate-key-pair (v1)
	pemPKCS8             = "PRIVATE KEY"
	pemSEC1              = "EC PRIVATE KEY"
	pemPublic            = "PUBLIC KEY"
)

// wantKeys says which keys are taken, for errors.
const wantKeys = "want a cosign key (cosign generate-key-pair) or a PEM PKCS#8 ECDSA P-256 or Ed25519 private key"

// Key is a private key that signs manifests and attestations.
type Key struct {
	path string
	sv   signature.SignerVerifier
}

// Path is the file the key was read from.
func (k *Key) Path() string { return k.path }

// Verifier is the key's public half.
func (k *Key) Verifier() *Verifier { return &Verifier{path: k.path, v: k.sv} }

// PublicKeyPEM is the key's public half as PEM (what cosign verify --key reads).
func (k *Key) PublicKeyPEM() ([]byte, error) {
	pub, err := k.sv.PublicKey()
	if err != nil {
		return nil, err
	}
	return cryptoutils.MarshalPublicKeyToPEM(pub)
}

// Password gives the password of an encrypted key; ok is false when
// none was given (an empty password is a password).
type Password func() (pw []byte, ok bool)

// PasswordFromEnv reads the password from the environment variable name.
func PasswordFromEnv(name string) Password {
	return func() ([]byte, bool) {
		v, ok := os.LookupEnv(name)
		return []byte(v), ok
	}
}

// LoadPrivateKey reads the private key at path: a cosign key (PEM
// "ENCRYPTED SIGSTORE PRIVATE KEY", scrypt and secretbox, as cosign
// generate-key-pair writes it; its password from password) or an
// unencrypted PEM PKCS#8 (or SEC 1) ECDSA P-256 or Ed25519 key. The file
// must be a regular file of at most MaxKeyBytes. Every error names path.
func LoadPrivateKey(path string, password Password) (*Key, error) {
	data, err := readKey(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("signing key %s: not a PEM file (%s)", path, wantKeys)
	}
	pf := func(bool) ([]byte, error) { return nil, nil }
	switch block.Type {
	case pemEncryptedSigstore, pemEncryptedCosign:
		pw, ok := password()
		if !ok {
			return nil, fmt.Errorf("signing key %s is encrypted: give its password in $%s, or name the variable that holds it with --sign-key-password-env", path, DefaultPasswordEnv)
		}
		pf = func(bool) ([]byte, error) { return pw, nil }
	case pemPKCS8, pemSEC1:
	case pemPublic:
		return nil, fmt.Errorf("signing key %s is a public key: sign with its private key (%s)", path, wantKeys)
	default:
		return nil, fmt.Errorf("signing key %s: a PEM %q block (%s)", path, block.Type, wantKeys)
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(pem.EncodeToMemory(block), pf)
	if err != nil {
		if block.Type == pemEncryptedSigstore || block.Type == pemEncryptedCosign {
			return nil, fmt.Errorf("signing key %s: decrypting it (a wrong password?): %w", path, err)
		}
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	if err := checkAlgorithm(priv); err != nil {
		return nil, fmt.Errorf("signing key %s: %w (%s)", path, err, wantKeys)
	}
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	return &Key{path: path, sv: sv}, nil
}

// LoadPublicKey reads the PEM public key at path (ECDSA P-256 or
// Ed25519, as cosign generate-key-pair writes cosign.pub).
func LoadPublicKey(path string) (*Verifier, error) {
	data, err := readKey(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != pemPublic {
		return nil, fmt.Errorf("public key %s: not a PEM public key (want cosign.pub, or a PEM ECDSA P-256 or Ed25519 public key)", path)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pem.EncodeToMemory(block))
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	if err := checkAlgorithm(pub); err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return &Verifier{path: path, v: v}, nil
}

// readKey reads a key file: a regular file (a FIFO or a device is
// refused without blocking) of at most MaxKeyBytes.
func readKey(path string) ([]byte, error) {
	data, err := regularfile.ReadAll(path, MaxKeyBytes, false)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("reading key %s: %w", path, pe.Err)
		}
		return nil, fmt.Errorf("reading key %s: %w", path, err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("reading key %s: the file is empty", path)
	}
	return data, nil
}

// checkAlgorithm accepts ECDSA P-256 and Ed25519 keys, private or public.
func checkAlgorithm(k any) error {
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return checkCurve(k.Curve)
	case *ecdsa.PublicKey:
		return checkCurve(k.Curve)
	case ed25519.PrivateKey, ed25519.PublicKey:
		return nil
	case *rsa.PrivateKey, *rsa.PublicKey:
		return errors.New("an RSA key: nixlayer signs with ECDSA P-256 or Ed25519 only")
	}
	return fmt.Errorf("a %T key", k)
}

func checkCurve(c elliptic.Curve) error {
	if c != elliptic.P256() {
		return fmt.Errorf("an ECDSA key on %s: nixlayer signs with P-256 only", c.Params().Name)
	}
	return nil
}
