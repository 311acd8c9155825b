// Package refscan finds which store paths a stream of bytes refers to, the
// way Nix finds the references of a build's output: by the 32-character
// hash parts of the candidate paths, wherever they occur. The image
// builder scans what extraCommands and root scripts leave (file contents,
// symlink targets, names) so that an image holds the store paths those
// files refer to, and not the ones the scripts merely used.
package refscan
