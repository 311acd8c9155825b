// Package registry moves images between registries and files by digest: Pull
// fetches an image manifest by digest and writes a deterministic
// docker-archive, OCI layout or oci-archive (the output of nixlayer's pullImage, a
// fixed-output derivation), Pin resolves a tag and computes the sha256 that
// pullImage pins, and Push uploads a docker-archive, OCI layout or archive,
// or the stream of a streamLayeredImage script to a registry or into
// `docker load`.
//
// Pull writes through package format (the one writer of every output
// format); Push reads through image/base (the one reader of foreign
// images), which streams blobs out of the archive within its limits and
// extracts nothing. A nixlayer stream script is read in process; another
// executable is run by its absolute path, never looked up in $PATH, and its
// docker-archive spooled to a temporary file (source.go says more).
//
// Every request goes through one transport (transport.go) that bounds it
// whoever makes it: connect, idle and response-header timeouts, a minimum
// transfer rate over each idle window, and a size bound on every document
// that is not a blob; the timeouts are transient failures, tried again.
//
// The archives Pull writes depend only on the image and the format, never
// on nixlayer's version or the day:
//
//	docker-archive: a tar, entries sorted by name, each mode 0644, owner
//	0:0 (root), mtime 1970-01-01T00:00:01Z:
//	  <config hex>.json            the config blob, bytes as in the registry
//	  <layer hex>.tar[.gz|.zst]    each layer blob as in the registry
//	                               (suffix from its media type), once
//	  manifest.json                [{"Config":…,"RepoTags":["NAME:TAG"],"Layers":[…]}]
//	oci-layout: a directory
//	  oci-layout                   {"imageLayoutVersion":"1.0.0"}
//	  index.json                   one manifest, annotated with NAME:TAG
//	  blobs/sha256/<hex>           manifest, config and layers as fetched; a
//	                               Docker schema 2 manifest is rewritten with OCI
//	                               media types (blobs unchanged), as skopeo does
//	oci-archive: the oci-layout directory as a tar, written like the
//	docker-archive: blobs/, blobs/sha256/, the blobs sorted by digest,
//	index.json, oci-layout.
package registry
