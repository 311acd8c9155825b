// Package atomicfile writes an output file or directory under a temporary
// name and renames it to its final place once complete, so a failure or a
// crash never leaves a partial output at that place.
//
// # Where the temporaries go
//
// A build killed with SIGKILL cannot remove its temporary, so it must sit
// where something else cleans up. Nix's builds write $out in the store
// directory; what Nix does there (checked against Nix's gc.cc,
// LocalStore::collectGarbage): a garbage collection reads every name of the
// store directory, and a name that does not parse as a store path (hash
// part of 32 base-32 characters, a dash, a name) is deleted outright, as
// garbage; a name that parses but is not a valid (registered) path is
// deleted too, as is a stale $out before the next build of its derivation.
// Newer Nix versions skip names starting with ".gc-", their own.
//
// So the temporaries go, in order of preference:
//
//  1. In the Nix build directory, $NIX_BUILD_TOP, when Nix runs nixlayer as
//     a builder and a probe file made there can be renamed into the output's
//     directory (same filesystem and mount point; in the sandbox the store
//     is a separate mount, so this fails with EXDEV and is not used). Nix
//     removes the build directory after every build, failed or killed
//     (unless --keep-failed).
//  2. Else in the output's directory, named ".nixlayer-tmp-<name>-<random>":
//     a leading dot never parses as a store path and "nixlayer-" is not
//     Nix's ".gc-" prefix, so the next garbage collection deletes what a
//     killed build left there. A garbage collection running during the
//     build may delete a temporary early; the rename then fails with a
//     clear error, and nothing partial reaches the output.
//
// Outside Nix (no $NIX_BUILD_TOP) the temporaries are next to the output, as
// before, with the same name.
package atomicfile
