// Package pull is the builder of nixlayer's pullImage (a fixed-output
// derivation) and `nixlayer pin`: Pull fetches an image manifest by digest
// and writes a deterministic docker-archive, OCI layout or oci-archive;
// Pin resolves a tag and computes the sha256 that pullImage pins, with
// Pull's own writer (archive.go: create writes Pull's output, stream the
// tar of an archive format, which Pin hashes; an oci-layout is created in
// a temporary directory and hashed as a NAR).
//
// Lock files (lock.go) pin an image blob by blob: MakeLock (`nixlayer
// pin --lock`) writes one, ReadLock reads it back within its bounds, and
// pullImageFromLock's builders (fromlock.go) fetch one blob each
// (FetchLockedBlob, a fixed-output derivation) and Assemble the fetched
// files with Pull's own writer, so the archive is Pull's, byte for byte.
//
// Pull writes through package format (the one writer of every output
// format) and talks to registries through package registry (timeouts,
// retry, auth, platform choice, verified blob downloads), as push does; it
// imports nothing of push.
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
package pull
