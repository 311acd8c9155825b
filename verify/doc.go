// Package verify is `nixlayer verify`: it checks that an image in a
// registry is, byte for byte, what a local build made (the manifest
// digest; where they differ, the config and each layer by digest; for an
// index, each image), and, given a public key, that the registry holds a
// signature of each manifest and a SLSA provenance attestation of each
// image that verify with it (cosign's "sha256-<hex>.sig" and ".att" tags,
// package sign). It reads the local build through package source and the
// registry through package registry's options, and writes nothing.
package verify
