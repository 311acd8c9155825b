// Package wire holds the data nixlayer writes for a later run of nixlayer,
// possibly a different version: stream scripts and layer descriptors, and
// the names of what an archive carries beside an image (a docker-archive's
// annotations and provenance members, an OCI layout's provenance
// annotation). Its
// types are explicit JSON structs, separate from the in-memory types of
// packages image, layers and customize (which convert to and from them in
// one place each), and every document carries Version, so that a document
// from another nixlayer is refused with an error that says which one and
// what to do rather than misread. Golden files in testdata pin the bytes.
package wire
