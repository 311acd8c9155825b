package rootscript

import (
	"errors"
	"io"
)

// Options says how a script runs over a tree.
type Options struct {
	// Name is the argument the script came from ("runAsRoot",
	// "fakeRootCommands"): errors start with it.
	Name   string
	Script string
	// Shell runs a script whose first line is not "#!" (as `Shell -c
	// Script`). The interpreter's directory is on PATH.
	Shell string
	// Chroot makes the tree the script's /, with what StoreDir holds
	// bound read-only at the same path inside it, /proc and /dev of the
	// build, and a tmpfs at /tmp when the tree has no /tmp. Without it
	// the script runs in the tree's directory and sees the build's files,
	// read-only.
	Chroot   bool
	StoreDir string
	// Env is added to the script's environment (PATH, HOME, TMPDIR).
	Env []string
	// Log receives the script's output when it succeeds (a failure's
	// error holds its end): its first 16 MiB, then, past that, a line
	// saying how much was left out and its last 64 KiB.
	Log io.Writer
}

// ErrNoNamespaces is the error of a kernel (or its settings) that does
// not give user namespaces to the builder.
var ErrNoNamespaces = errors.New("this kernel refuses a user namespace to the build")

// ErrUnsupported is the error of a system nixlayer cannot run root
// scripts on: Linux on x86_64 or aarch64 only (the seccomp filter knows
// their system calls).
var ErrUnsupported = errors.New("root scripts run on Linux, x86_64 or aarch64, only")
