// Package filetree writes a small directory tree of text files, symlinks
// and directories: the output of the Nix helpers that need no shell
// (fakeNss, binSh, usrBinEnv, caCertificates, the references of an image's
// arguments).
package filetree
