// Package inspect describes a container image archive or layout: its
// reference, config and layers with their digests, sizes and the Nix store
// paths each holds. It reads images with package image/base, so it is safe
// on foreign archives, and a stream script from its recipe (File, Script),
// producing no layer; an archive of several images lists each. It prints a
// table for people or JSON for scripts.
package inspect
