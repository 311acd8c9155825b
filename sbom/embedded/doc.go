// Package embedded reads the SBOM documents that nixlayer writes into an
// image (see package sbom) back out of a built image: a docker-archive, an
// OCI layout or oci-archive, read with image/base's hardened reader, or a
// nixlayer stream script, whose recipe holds the files of its
// customisation layer.
package embedded
