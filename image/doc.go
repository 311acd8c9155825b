// Package image assembles container images from nixlayer layers: it checks
// the user's spec (name, tag, config, architecture), plans the layers,
// builds the config and manifest with go-containerregistry, and hands the
// blobs and the image to package format, which writes the docker-archive,
// OCI layout or oci-archive atomically. Into an archive each layer is
// written straight after its tar header, one layer after another (each
// compresses on every core); for an OCI layout the layers are written to
// files several at once and hard-linked into the layout.
package image
