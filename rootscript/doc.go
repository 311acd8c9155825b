// Package rootscript runs the scripts dockerTools users write for a root
// shell (runAsRoot, fakeRootCommands, enableFakechroot) without root on the
// build machine, without a VM and without fakeroot, and captures what they
// made as layer entries.
//
// A Tree is a directory the script changes: the base image's files
// (Extract), the image's own entries (Add), a Snapshot of what was there
// before. Run starts a supervisor in new user, mount and PID namespaces,
// as the init of that PID namespace, and the script under it in a user
// and mount namespace of its own, nested: the script is uid 0 with the
// one id of the builder mapped, everything outside the tree read-only
// (the kernel locks these mounts: the script cannot unmount the store
// nor make it writable), and, with Chroot, the tree as its root with the
// closure's store paths bound read-only inside. When the script's main
// process ends, every process it started, in whatever session or nested
// PID namespace, is killed and named; when Run is cancelled, the kernel
// kills them all with the supervisor. The script cannot signal, trace or
// open the supervisor, and its output is a pipe Run reads with a bound.
// A seccomp user-notification filter hands the calls a single-id
// namespace cannot make to the supervisor, which resolves their names
// from the caller's own root and working directory, records them and
// answers success: chown, fchown, lchown and fchownat (owner per inode),
// mknod and mknodat of character and block devices (an empty file in
// their place, the device decoded as the kernel does), and rmdir (done,
// and recorded, so that a directory made again is opaque). The filter
// sees every system call, so static programs such as busybox are faked
// as well as dynamic ones. Changes then reads the tree back: new and
// changed files with the owners, devices, hard links and modes recorded,
// whiteouts for what the script deleted, opaque markers for directories
// it replaced; a change under the store directory is an error. The
// content of a regular file stays in the tree (the entry's Source) until
// Close, so a caller writes the layer before closing it; Embed copies it
// into the entries, within a bound, for a layer that outlives the tree
// (a stream script's). ReadFile reads a file of the tree as the image
// would find it, links resolved inside the tree. Every buffer is bounded
// (limits.go, the README's "Limits").
//
// The Nix sandbox allows all of this (it runs builders in a user namespace
// of its own, and nested ones are allowed), with one exception: its own
// seccomp filter refuses chmod with the setuid or setgid bit to every
// builder, before any other filter can see the call. Such bits come from
// the image's perms rules instead.
package rootscript
