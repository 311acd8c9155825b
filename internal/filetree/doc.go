// Package filetree writes a small directory tree of text files, programs
// (executable scripts), symlinks and directories: the output of the Nix
// helpers that need no shell (fakeNss, binSh, usrBinEnv, caCertificates,
// the references of an image's arguments, the nix-shell images' rc file
// and buildDerivation).
package filetree
