//go:build linux

package rootscript

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// record is one faked call's effect, in the order the calls were made:
// a new owner (nil: unchanged), a device node standing in an empty file,
// or a directory removed (its image path, RemovedDir).
type record struct {
	RemovedDir string `json:"removedDir,omitempty"`
	Dev        uint64 `json:"dev"`
	Ino        uint64 `json:"ino"`
	Btime      int64  `json:"btime,omitempty"` // see fileID
	Uid        *int   `json:"uid,omitempty"`
	Gid        *int   `json:"gid,omitempty"`
	Device     byte   `json:"device,omitempty"`
	Major      int64  `json:"major,omitempty"`
	Minor      int64  `json:"minor,omitempty"`
}

// supervisor answers the script's faked calls. It runs in the script's
// namespaces with the script's root, so that the names the script gives
// resolve as they do for the script: absolute ones from the shared root,
// relative ones from the caller's working directory or directory
// descriptor, reached through /proc.
type supervisor struct {
	listener int
	proc     int // /proc, opened O_PATH
	// root is the tree as the supervisor sees it ("/" with a chroot): a
	// removed directory is recorded by its path below it.
	root    string
	mu      sync.Mutex
	records []record
	err     error // the first failure of the supervisor itself
}

// serve answers calls until no process uses the filter.
func (s *supervisor) serve() {
	for {
		n, ok, err := receive(s.listener)
		if err != nil {
			s.fail(err)
			return
		}
		if !ok {
			return
		}
		s.handle(n)
	}
}

func (s *supervisor) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// handle answers one call: a chown is recorded, a device node is made as
// an empty file and recorded, any other mknod runs as it is.
func (s *supervisor) handle(n notif) {
	c, ok := faked[uint32(n.Data.Nr)]
	if !ok {
		respond(s.listener, n.ID, 0, true)
		return
	}
	args := n.Data.Args
	if c.whenFlags != 0 && uint32(args[c.flags])&c.whenFlags == 0 {
		respond(s.listener, n.ID, 0, true)
		return
	}
	if c.mknod {
		if t := uint32(args[c.mode]) & unix.S_IFMT; t != unix.S_IFCHR && t != unix.S_IFBLK {
			respond(s.listener, n.ID, 0, true)
			return
		}
	}
	dirfd, name, nofollow, errno := s.target(n, c)
	if errno == 0 && !valid(s.listener, n.ID) {
		return // the caller is gone: what was read may not be its
	}
	if errno == 0 {
		switch {
		case c.mknod:
			errno = s.mknod(n, c, dirfd, name)
		case c.rmdir:
			errno = s.rmdir(dirfd, name)
		default:
			errno = s.chown(n, c, dirfd, name, nofollow)
		}
	}
	respond(s.listener, n.ID, errno, false)
}

// target is where the call's file is, as a directory descriptor and a name
// from it for the *at calls.
func (s *supervisor) target(n notif, c call) (dirfd int, name string, nofollow bool, errno unix.Errno) {
	args := n.Data.Args
	flags := 0
	if c.flags >= 0 {
		flags = int(args[c.flags])
	}
	nofollow = c.nofollow || flags&unix.AT_SYMLINK_NOFOLLOW != 0
	from := fmt.Sprintf("%d/cwd", n.Pid)
	if c.dirfd >= 0 && int32(args[c.dirfd]) != unix.AT_FDCWD {
		from = fmt.Sprintf("%d/fd/%d", n.Pid, int32(args[c.dirfd]))
	}
	if c.path < 0 {
		return s.proc, from, false, 0
	}
	p, errno := readString(n.Pid, args[c.path])
	switch {
	case errno != 0:
		return 0, "", false, errno
	case p == "" && flags&unix.AT_EMPTY_PATH != 0:
		return s.proc, from, false, 0
	case p == "":
		return 0, "", false, unix.ENOENT
	case strings.HasPrefix(p, "/"):
		return unix.AT_FDCWD, p, nofollow, 0
	}
	return s.proc, from + "/" + p, nofollow, 0
}

// rmdir removes a directory for the script and records its path, so that
// a directory made again there hides what the layers below had in it.
func (s *supervisor) rmdir(dirfd int, name string) unix.Errno {
	fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return errnoOf(err)
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(s.proc, fmt.Sprintf("self/fd/%d", fd), buf)
	unix.Close(fd)
	if err != nil {
		return errnoOf(err)
	}
	where := string(buf[:n])
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil {
		return errnoOf(err)
	}
	if rel, err := filepath.Rel(s.root, where); err == nil && !strings.HasPrefix(rel, "..") {
		s.add(record{RemovedDir: filepath.ToSlash(rel)})
	}
	return 0
}

func (s *supervisor) chown(n notif, c call, dirfd int, name string, nofollow bool) unix.Errno {
	flags := 0
	if nofollow {
		flags = unix.AT_SYMLINK_NOFOLLOW
	}
	id, _, err := identify(dirfd, name, flags)
	if err != nil {
		return errnoOf(err)
	}
	r := record{Dev: id.Dev, Ino: id.Ino, Btime: id.Btime}
	if id := uint32(n.Data.Args[c.uid]); id != ^uint32(0) {
		v := int(id)
		r.Uid = &v
	}
	if id := uint32(n.Data.Args[c.gid]); id != ^uint32(0) {
		v := int(id)
		r.Gid = &v
	}
	s.add(r)
	return 0
}

// mknod makes an empty file with the device's permissions (less the
// caller's umask) where the device node goes, and records the device.
func (s *supervisor) mknod(n notif, c call, dirfd int, name string) unix.Errno {
	mode := uint32(n.Data.Args[c.mode])
	fd, err := unix.Openat(dirfd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return errnoOf(err)
	}
	defer unix.Close(fd)
	if err := unix.Fchmod(fd, mode&0o7777&^s.umask(n.Pid)); err != nil {
		return errnoOf(err)
	}
	id, _, err := identify(fd, "", unix.AT_EMPTY_PATH)
	if err != nil {
		return errnoOf(err)
	}
	typ := byte(tar.TypeChar)
	if mode&unix.S_IFMT == unix.S_IFBLK {
		typ = tar.TypeBlock
	}
	dev := n.Data.Args[c.dev]
	s.add(record{Dev: id.Dev, Ino: id.Ino, Btime: id.Btime, Device: typ, Major: int64(unix.Major(dev)), Minor: int64(unix.Minor(dev))})
	return 0
}

func (s *supervisor) add(r record) {
	s.mu.Lock()
	s.records = append(s.records, r)
	s.mu.Unlock()
}

// readString reads the NUL-terminated name at addr in process pid's
// memory, a page at a time so that it never reads past a mapping.
func readString(pid uint32, addr uint64) (string, unix.Errno) {
	const max = unix.PathMax
	var out []byte
	page := uint64(os.Getpagesize())
	for len(out) < max {
		n := int(page - addr%page)
		buf := make([]byte, n)
		local := unix.Iovec{Base: &buf[0]}
		local.SetLen(n)
		got, err := unix.ProcessVMReadv(int(pid), []unix.Iovec{local}, []unix.RemoteIovec{{Base: uintptr(addr), Len: n}}, 0)
		if err != nil {
			return "", errnoOf(err)
		}
		if i := bytes.IndexByte(buf[:got], 0); i >= 0 {
			return string(append(out, buf[:i]...)), 0
		}
		out = append(out, buf[:got]...)
		addr += uint64(got)
	}
	return "", unix.ENAMETOOLONG
}

// umask is process pid's umask, 022 when /proc does not say.
func (s *supervisor) umask(pid uint32) uint32 {
	data, err := readProc(s.proc, fmt.Sprintf("%d/status", pid))
	if err != nil {
		return 0o022
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
			if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return uint32(m)
			}
		}
	}
	return 0o022
}

func errnoOf(err error) unix.Errno {
	if e, ok := err.(unix.Errno); ok {
		return e
	}
	return unix.EIO
}
