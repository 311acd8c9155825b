// Package sbom makes an image's software bill of materials from its Nix
// closure: an SPDX 2.3 JSON and a CycloneDX 1.6 JSON document in which
// every store path is a package, and the files that put them in the image.
//
// # What a document says
//
// The image is the root: SPDX "DOCUMENT DESCRIBES Image", the CycloneDX
// metadata.component (type container). In an image it is named by its
// contents: "image-contents" at version ContentID, the SHA-256 of the
// packages the documents list, their metadata and the image's roots; never
// by the image's name or tag, which would keep two images of the same
// contents from sharing the layer and would leave the output hash (the
// default tag) of a `nix-build --check` or a content-addressed build
// inside it. A document made outside an image may name it (Image.Name,
// Tag) with a pkg:oci package URL when its manifest digest is known. Each
// store path is a package:
//
//   - name and version split from the store path name as Nix's
//     builtins.parseDrvName does (ParseDrvName), unless overridden by Meta;
//   - its narHash (the SHA-256 of its NAR serialisation, the content Nix
//     itself checks) as its SHA-256 checksum, in base16;
//   - the store path itself as SPDX packageFileName ("the directory treated
//     as a package"), as CycloneDX bom-ref and property nix:store-path;
//   - a package URL pkg:nix/NAME@VERSION?checksum=sha256:HEX&outputhash=HASH,
//     the scheme syft's Nix cataloger uses (outputhash is the store path's
//     hash part) with purl's standard checksum qualifier, so tools that keep
//     only package URLs (syft's converters do) still name the store path
//     and its narHash; Meta.PURL replaces it;
//   - dependencies from its references (a self-reference left out): SPDX
//     DEPENDS_ON, CycloneDX dependencies. The image CONTAINS every package
//     and DEPENDS_ON its roots (its contents and the store paths its config
//     names).
//
// License (an SPDX license expression), homepage and description come
// from Meta: from a derivation's meta or the user's sbom argument, never
// guessed. Packages are sorted by store path, extra packages by name.
// A base image's store paths are listed when its Nix database is merged
// into the closure; its other packages (dpkg, apk, …) are not: scanners
// find those themselves.
//
// # Reproducibility
//
// A document depends on its Input only: its one date is Image.Created
// (the layers' mtime in an image, not the image's created date), and the
// SPDX namespace and CycloneDX serial number are name-based (version 5)
// UUIDs of the SHA-256 of the document rendered with a zero ID. The same
// closure gives the same bytes, whatever the image's name, tag or output
// path.
//
// # Where the documents are in an image
//
// /var/lib/db/sbom/nixlayer.spdx.json and /var/lib/db/sbom/nixlayer.cdx.json
// (Dir, Format.Path), in the customisation layer, off /nix/store. Scanners
// find SBOM files by their names' endings anywhere in an image: Trivy's
// SBOM analyzer reads any file ending in .spdx, .spdx.json, .cdx or
// .cdx.json; syft's sbom-cataloger globs **/*.spdx.*, **/*.cdx.* (and
// *.syft.json, *.bom.*, *.sbom.*) but is not among its default catalogers
// for images: `syft scan --select-catalogers +sbom-cataloger IMAGE`. The
// directory is the one Wolfi and apko images keep SBOM documents in
// (/var/lib/db/sbom); the fixed file names mean that an image built on a
// nixlayer image replaces its base's documents, whose store paths the new
// ones list again when the base's Nix database is in the closure.
package sbom
