// Package customize makes an image's own files without a shell, a VM or
// fakeroot: users and groups (/etc/passwd, /etc/group, shadow files, home
// directories), symlinks, files and directories declared in Nix, the output
// of extraCommands, and permission rules (mode and owner) applied to the
// entries of every layer.
package customize
