// Package image assembles container images from nixlayer layers. A build
// goes Spec (what the user wrote, from Nix or the command line's flags
// overlaid on it) → Resolve, the one place every default and check lives →
// Settings (typed, complete) → Plan (the layers, from the settings, the
// closure graph and the opened base image) → WriteLayers or Describe →
// Assemble and Format.Write, or a stream script (whose on-disk form is
// package wire's, converted in wire.go). It writes a docker-archive, an OCI
// layout or an oci-archive atomically.
package image
