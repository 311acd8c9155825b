// Package base reads foreign container images (docker-archive in the registry
// and legacy formats, OCI layout directories and oci-archives, optionally
// gzip-, zstd- or xz-compressed) as hostile input, and computes the
// flattened root filesystem of an image: an index for building on top of a
// base image, and a deterministic rootfs tar for exportImage.
//
// # Which image
//
// Open reads one image. From a multi-platform index (an OCI layout or
// oci-archive whose entry is an image index) it picks this machine's
// platform (linux and runtime.GOARCH), else the first image that is not an
// attestation; RawIndex returns the index's bytes, and WithManifest opens
// another of its images by manifest digest. An archive that lists several
// images (mergeImages' docker-archives, an OCI layout with several
// index.json entries) is read by name and tag (WithName, WithTag), or by
// position with WithPosition; Count says how many it lists, and Select
// picks each in turn from the archive already open (not opened,
// decompressed or indexed again, its list parsed once), so reading all n
// images takes time linear in n.
//
// # Safety policy
//
// Nothing read from an image is ever written to the host filesystem, except
// into the temporary files this package creates itself (a decompressed copy
// of a compressed archive, and the content spool of Flatten). The layers are
// applied to an in-memory tree, with these rules:
//
//   - Entry names and hard-link targets are cleaned ("./a//b" is "a/b").
//     A name that is absolute or has a ".." component is an error.
//     Names and link targets longer than 4096 bytes are an error.
//   - A symlink met in the parent path of a later entry is followed the way
//     runtimes do (umoci's securejoin, Docker's chroot): relative to its
//     directory, absolute targets from the image root, ".." stops at the
//     root. So "bin -> /usr/bin" then "bin/sh" writes "usr/bin/sh", and no
//     target can lead out of the tree. More than 40 symlinks in one lookup,
//     or a lookup of more than 4096 components, is an error. A parent that
//     is a regular file is an error.
//   - An entry replaces what its path held before, unless both are
//     directories: then the directory keeps its children and takes the new
//     metadata. This holds for duplicates inside one layer too (the last
//     entry wins, as with tar extraction).
//   - Whiteouts (".wh.name", ".wh..wh..opq") hide only what lower layers
//     put there, as the OCI image specification says; other ".wh..wh."
//     names are ignored. A directory named ".wh.*" in an entry's path is
//     an error, so no whiteout name ever reaches the flattened tar.
//   - A hard link must name an entry that exists (in this layer before it,
//     or in a lower layer) and is not a directory; it becomes a copy of it.
//     Anything else is an error.
//   - Character and block devices and FIFOs are skipped: they are left out
//     of the index and of the flattened tar, and listed by Index.Skipped.
//   - A layer whose uncompressed sha256 differs from the config's
//     rootfs.diff_ids, or whose blob differs from the manifest's digest or
//     size, is an error, as is a manifest naming a missing blob. This holds
//     for a blob handed out as it is too (Layer.Compressed, what push, the
//     loaders, merging and indexes copy): it is decompressed on the side as
//     it streams (diffid.go), within MaxBytes, and its end is an error
//     naming the image, the layer and both digests; a docker archive's
//     layer digests are computed in that same read (several layers at
//     once), before a manifest is made of them.
//
// # Limits
//
// Limits bound what a hostile archive can cost. MaxBytes (default 16 GiB)
// bounds the decompressed size of a compressed archive file, the
// decompressed size of all layers together, and the sum of the sizes of all
// entries (a sparse entry counts its full size). MaxEntries (default
// 1,048,576) bounds the number of entries in all layers together and in the
// archive. MaxNameBytes (default 256 MiB) bounds the names and link targets
// kept in memory. JSON documents (manifests, configs, indexes) are read up
// to 8 MiB each. The zstd window is limited to 128 MiB and the xz dictionary
// to 256 MiB. Memory use is thus bounded by the number of entries, never by
// the size of the content: the content of a kept file (WithKeep) is not
// held, but read again from the layer that wrote it when asked for
// (Index.CopyContent streams it; Index.Content reads it into memory up to
// a size the caller gives). A legacy docker-archive's layers share one
// MaxBytes budget when Open computes their diffIDs, as every walk does.
// $NIXLAYER_MAX_BYTES and $NIXLAYER_MAX_ENTRIES raise the defaults.
//
// A file of an OCI layout directory (or the image file itself) that is not
// a regular file, a FIFO say, is refused before anything reads it. With
// WithContext, reading stops once the context is done.
package base
