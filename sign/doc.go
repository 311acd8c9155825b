// Package sign signs pushed images in the forms cosign reads, and reads
// those signatures back: keys (LoadPrivateKey, LoadPublicKey: cosign's
// encrypted keys, PEM PKCS#8 ECDSA P-256 and Ed25519), the simple-signing
// payload of a manifest digest, DSSE envelopes of in-toto statements, and
// the images cosign keeps them in (the "sha256-<hex>.sig" and ".att" tags,
// and OCI 1.1 referrers of the signed manifest).
//
// The signatures and envelopes are made by sigstore's own libraries
// (github.com/sigstore/sigstore signature, signature/dsse,
// signature/payload, cryptoutils); the images that hold them are built on
// go-containerregistry. Nothing here talks to Fulcio or Rekor: the
// signatures carry no certificate and no transparency-log bundle, so
// cosign verifies them with --key and --insecure-ignore-tlog.
package sign
