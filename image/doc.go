// Package image assembles container images from nixlayer layers. A build
// goes Spec (what the user wrote, from Nix or the command line's flags
// overlaid on it) → Resolve, the one place every default and check lives →
// Settings (typed, complete) → Plan (the layers, from the settings, the
// closure graph and the opened base image) → the layers written and the
// config and manifest made with go-containerregistry (Assemble), handed to
// package format, which writes the docker-archive, OCI layout or
// oci-archive atomically; or a stream script (whose on-disk form is
// package wire's, converted in wire.go). Into an archive each layer is
// written straight after its tar header, one layer after another (each
// compresses on every core); for an OCI layout the layers are written to
// files several at once and hard-linked into the layout. Merge (mergeImages,
// merge.go) writes the images of several archives, layouts and stream
// scripts into one docker-archive; a stream script's Recipe is its image
// without its layers' bytes (for inspect).
package image
