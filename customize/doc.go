// Package customize makes an image's own files without a shell, a VM or
// fakeroot: users and groups (/etc/passwd, /etc/group, shadow files, home
// directories), symlinks, files and directories declared in Nix, the output
// of extraCommands, and permission rules (mode and owner) applied to the
// entries of every layer.
//
// Customise checks everything before a byte is written: each perms rule
// must match an entry of the image (a path rule its path; a regex rule,
// matched against whole image paths, something at or below its path, in
// the contents, the customisation or the store paths on disk), and
// config.User must name a user of the image's /etc/passwd, whoever writes
// it. The resolved Rules travel with each planned layer, so a stream script
// that rebuilds its layers later applies them too.
package customize
