// Package index joins single-platform images into one multi-platform OCI
// image index (buildImageIndex), and reads such an index back through
// image/base for push and inspect.
//
// The layout Build writes is what `docker buildx --output type=oci` and
// crane write and what skopeo, umoci and registries read as a tag naming
// several platforms: index.json has one entry, an image index blob
// annotated with the tag (org.opencontainers.image.ref.name), and that
// index lists one OCI manifest per platform with its os, architecture and
// variant. Each input image keeps its config and layer blobs byte for
// byte; a Docker manifest is rewritten with OCI media types (the same
// bytes: gzip, zstd and plain tar layers stay as they are), so an entry's
// manifest digest is that of the image in an OCI layout. Blobs shared by
// entries are stored once.
package index
