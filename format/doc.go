// Package format is the one home of the image formats nixlayer writes:
// docker-archive, OCI layout and oci-archive. Builds, stream scripts and
// pullImage all write through it, so the three formats have one enum
// (Format), one set of file names and one byte layout.
//
// A Writer takes blobs (the config, layers, a manifest) and images that
// refer to them by digest; several images may go into one output (the
// manifest.json of a docker-archive and the index.json of an OCI layout are
// lists). Create writes atomically through internal/atomicfile: nothing is
// left at the output on error.
//
// Every byte of an archive is written once. A blob whose descriptor is
// known (a pulled blob, a base image's layer, a stream script's layer) is
// copied after its tar header. A blob produced while the archive is written
// (a layer built now) gets a placeholder header; once the blob is written
// its size and digest are known and the header, which names the blob by
// digest, is written over the placeholder (the output file is seekable).
// Headers are USTAR, or GNU for a blob of 8 GiB or more, so a header is
// always one 512-byte block and patching never moves a byte; the bytes are
// the same whether a blob was known or produced. An OCI layout hard-links a
// blob that is already a file, or writes it once.
//
// An image may carry its provenance statement and, in a docker-archive,
// its manifest's annotations beside it (provenance.go, docker.go), where
// docker, podman and skopeo do not look.
//
// Entry order is the order blobs are given, then manifest.json (or
// index.json and oci-layout); every entry has mode 0644 (directories 0755),
// owner 0 and the given mtime.
//
// Adding an output format touches, besides this package (a Format
// constant, Parse, the OCI and Dir methods, a Writer with its case in
// Create, and Stream if it is an archive that can be streamed):
//   - nix/default.nix (outputName), nix/pull.nix and nix/index.nix (their
//     output suffixes and format checks), and the --format usage texts of
//     cmd_build.go and cmd_pull.go;
//   - the readers: image/base's Open and its Format (the input formats;
//     base images, and through package source push, inspect,
//     buildImageIndex's and mergeImages' inputs);
//   - the places that tell one format from another: image/build.go
//     (writeOwnLayers: an OCI layout's layers are written to files first),
//     index/spec.go (which formats hold an index), pull/archive.go (a directory
//     is created, an archive streamed) and pull/pin.go (a directory is
//     hashed as a NAR);
//   - the README.
//
// Builds, streams and pullImage write through Create and take it
// unchanged otherwise.
package format
