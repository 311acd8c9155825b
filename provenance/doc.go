// Package provenance makes and reads the SLSA provenance of an image: an
// in-toto Statement v1 whose predicate is a SLSA v1 provenance, made at
// build time from what Nix gives the builder (the nixlayer arguments, every
// store path of the closure with its NAR hash, the base image by digest),
// and stored with the image in each output format.
//
// Make builds a statement (Input → Statement); Of reads the one a built
// image carries: a docker-archive's member "<config hex>.intoto.json", an
// OCI layout's or oci-archive's artifact manifest named by the image's
// entry in index.json (wire.ProvenanceAnnotation), or a stream script's
// recipe. WithDerivation adds what the builder cannot see, the image
// derivation's .drv path, when it is known afterwards. Nothing in a
// statement depends on the output path, its hash (the default tag), the
// time or the machine.
package provenance
