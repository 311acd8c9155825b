// Package image builds container images from a Nix closure: Build takes a
// spec.Spec, resolves it (spec.Resolve), plans the layers (Plan: cached
// layers, the base image, the layering strategy, the Nix database, the
// SBOM documents, the customisation and root scripts, of whose store
// paths the image keeps those that what the scripts leave refers to:
// references.go) and writes them
// through package recipe into package format's docker-archive, OCI layout
// or oci-archive, or records them as a stream script (package stream).
// BuildLayer makes nl.buildLayer's cached layers. Into an archive each
// layer is written straight after its tar header, one layer after another
// (each compresses on every core); for an OCI layout the layers are
// written to files several at once and hard-linked into the layout.
// A set of images (buildImageSet) plans its members' layers over the union
// of their closures (imageset.go, layering's "set" strategy).
package image
