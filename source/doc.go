// Package source opens any path as an image: a docker-archive, an OCI
// layout or oci-archive (compressed or not, read by image/base within its
// limits), a nixlayer stream script (in process, package stream), or
// another executable that writes a docker-archive (run by its absolute
// path, its output spooled within base's size limit). Sniff is the one
// place that tells what a file is; Open gives a v1.Image, or a
// v1.ImageIndex for a layout of several images or a multi-platform index
// (OpenIndex). Push, buildImageIndex, inspect, nixlayer sbom and
// mergeImages read their inputs through it; it imports no builder.
package source
