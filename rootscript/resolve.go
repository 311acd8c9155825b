//go:build linux

package rootscript

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// target is the file a faked call names, as the kernel would find it for
// the caller: either a descriptor or working directory of the caller
// (fdName, from /proc), or a name from the caller's root (full), with the
// directory holding its last name (base) open in dir. Names never leave
// the caller's root: a script that chroots again (chroot /t mknod /dev/x)
// changes its /t/dev/x, not the image's /dev/x.
type target struct {
	proc     int
	fdName   string // "PID/fd/N" or "PID/cwd" from proc, for a call on a descriptor
	root     int    // the caller's root (opened here), or -1
	full     string // the name from root
	dir      int    // the directory of base (opened here), or -1
	base     string
	nofollow bool
}

func (t target) close() {
	for _, fd := range []int{t.root, t.dir} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// identify is the identity of the target (of a symlink itself with
// nofollow): see fileID.
func (t target) identify() (fileID, error) {
	if t.fdName != "" {
		id, _, err := identify(t.proc, t.fdName, 0)
		return id, err
	}
	flags := unix.O_PATH | unix.O_CLOEXEC
	if t.nofollow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := openIn(t.root, t.full, flags)
	if err != nil {
		return fileID{}, err
	}
	defer unix.Close(fd)
	id, _, err := identify(fd, "", unix.AT_EMPTY_PATH)
	return id, err
}

// openIn opens name from the directory root as if root were /: neither
// "..", nor an absolute symlink, leaves it.
func openIn(root int, name string, flags int) (int, error) {
	return unix.Openat2(root, name, &unix.OpenHow{Flags: uint64(flags), Resolve: unix.RESOLVE_IN_ROOT})
}

// target finds what call c of notification n names.
func (s *supervisor) target(n notif, c call) (target, unix.Errno) {
	args := n.Data.Args
	flags := 0
	if c.flags >= 0 {
		flags = int(args[c.flags])
	}
	tg := target{proc: s.proc, root: -1, dir: -1, nofollow: c.nofollow || flags&unix.AT_SYMLINK_NOFOLLOW != 0}
	from := fmt.Sprintf("%d/cwd", n.Pid)
	if c.dirfd >= 0 && int32(args[c.dirfd]) != unix.AT_FDCWD {
		from = fmt.Sprintf("%d/fd/%d", n.Pid, int32(args[c.dirfd]))
	}
	if c.path < 0 {
		tg.fdName = from
		return tg, 0
	}
	p, errno := readString(n.Pid, args[c.path])
	switch {
	case errno != 0:
		return tg, errno
	case p == "" && flags&unix.AT_EMPTY_PATH != 0:
		tg.fdName = from
		return tg, 0
	case p == "":
		return tg, unix.ENOENT
	}
	rootName := fmt.Sprintf("%d/root", n.Pid)
	if !strings.HasPrefix(p, "/") {
		prefix, ok := s.below(rootName, from)
		if !ok {
			// A directory outside the caller's root (or removed): the
			// name stays below it.
			rootName, prefix = from, ""
		}
		p = prefix + "/" + p
	}
	root, err := unix.Openat(s.proc, rootName, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return tg, errnoOf(err)
	}
	tg.root = root
	tg.full = strings.Trim(p, "/")
	dir := "."
	tg.base = tg.full
	if i := strings.LastIndexByte(tg.full, '/'); i >= 0 {
		dir, tg.base = tg.full[:i], tg.full[i+1:]
	}
	if tg.full == "" {
		tg.full, tg.base = ".", "."
	}
	if tg.dir, err = openIn(root, dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC); err != nil {
		tg.dir = -1
		return tg, errnoOf(err)
	}
	return tg, 0
}

// below is where the directory from (a link of /proc) is under the root
// rootName, as a path from that root ("" for the root itself); ok is
// false when it is not under it.
func (s *supervisor) below(rootName, from string) (string, bool) {
	root, err1 := readlinkProc(s.proc, rootName)
	start, err2 := readlinkProc(s.proc, from)
	switch {
	case err1 != nil || err2 != nil || !strings.HasPrefix(start, "/") || strings.HasSuffix(start, " (deleted)"):
		return "", false
	case root == "/":
		return start, true
	case start == root:
		return "", true
	case strings.HasPrefix(start, root+"/"):
		return start[len(root):], true
	}
	return "", false
}

// fdPath is where this process's descriptor fd is, as this process sees it.
func fdPath(proc, fd int) (string, error) {
	return readlinkProc(proc, fmt.Sprintf("self/fd/%d", fd))
}

func readlinkProc(proc int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(proc, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
