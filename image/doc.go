// Package image assembles container images from nixlayer layers: it checks
// the user's spec (name, tag, config, architecture), builds the config and
// manifest with go-containerregistry, and writes a docker-archive, an OCI
// layout or an oci-archive atomically.
package image
