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

// record is what the faked calls gave one file (by device and inode): a
// new owner (-1: unchanged) and, for an empty file standing in a device
// node, the device.
type record struct {
	Dev    uint64 `json:"d"`
	Ino    uint64 `json:"i"`
	Btime  int64  `json:"b,omitempty"` // see fileID
	Uid    int64  `json:"u"`
	Gid    int64  `json:"g"`
	Device byte   `json:"t,omitempty"`
	Major  uint32 `json:"ma,omitempty"`
	Minor  uint32 `json:"mi,omitempty"`
}

// supervisor answers the script's faked calls. It runs in this PID and
// user namespace, above the script's, and resolves the names a call gives
// as the kernel would for the caller: absolute ones from the caller's
// root, relative ones from its working directory or directory descriptor,
// reached through /proc, never leaving the caller's root.
type supervisor struct {
	listener int
	proc     int // /proc of the script's PID namespace, opened O_PATH
	// root is the tree: a removed directory is recorded by its path
	// below it.
	root string
	max  int // files recorded, removed directories included
	mu   sync.Mutex
	recs map[fileID]*record
	// removed are the directories removed, in the order of the calls.
	removed []string
	err     error // the first failure of the supervisor itself
}

func newSupervisor(listener, proc int, root string, max int) *supervisor {
	if max <= 0 {
		max = defaultMaxEntries
	}
	return &supervisor{listener: listener, proc: proc, root: root, max: max, recs: map[fileID]*record{}}
}

// serve answers calls until no process uses the filter, or the
// supervisor fails.
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
		if err := s.handle(n); err != nil {
			s.fail(err)
			return
		}
	}
}

func (s *supervisor) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *supervisor) failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err != nil
}

// result puts what was recorded into r, or returns the supervisor's
// failure.
func (s *supervisor) result(r *result) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	r.Records = make([]record, 0, len(s.recs))
	for _, rec := range s.recs {
		r.Records = append(r.Records, *rec)
	}
	r.Removed = s.removed
	return nil
}

// handle answers one call: a chown is recorded, a device node is made as
// an empty file and recorded, any other mknod runs as it is. Its error is
// the supervisor's own failure (a limit), which ends the script.
func (s *supervisor) handle(n notif) error {
	c, ok := faked[uint32(n.Data.Nr)]
	if !ok {
		respond(s.listener, n.ID, 0, true)
		return nil
	}
	args := n.Data.Args
	if c.whenFlags != 0 && uint32(args[c.flags])&c.whenFlags == 0 {
		respond(s.listener, n.ID, 0, true)
		return nil
	}
	if c.mknod {
		// umode_t: 16 bits.
		if t := uint32(uint16(args[c.mode])) & unix.S_IFMT; t != unix.S_IFCHR && t != unix.S_IFBLK {
			respond(s.listener, n.ID, 0, true)
			return nil
		}
	}
	tg, errno := s.target(n, c)
	defer tg.close()
	if errno == 0 && !valid(s.listener, n.ID) {
		return nil // the caller is gone: what was read may not be its
	}
	var err error
	if errno == 0 {
		switch {
		case c.mknod:
			errno, err = s.mknod(n, c, tg)
		case c.rmdir:
			errno, err = s.rmdir(tg)
		default:
			errno, err = s.chown(n, c, tg)
		}
	}
	if err != nil {
		errno = unix.EDQUOT
	}
	respond(s.listener, n.ID, errno, false)
	return err
}

// rmdir removes a directory for the script and records its path, so that
// a directory made again there hides what the layers below had in it.
func (s *supervisor) rmdir(tg target) (unix.Errno, error) {
	switch tg.base {
	case ".":
		return unix.EINVAL, nil
	case "..":
		return unix.ENOTEMPTY, nil
	}
	fd, err := unix.Openat(tg.dir, tg.base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return errnoOf(err), nil
	}
	where, err := fdPath(s.proc, fd)
	unix.Close(fd)
	if err != nil {
		return errnoOf(err), nil
	}
	if err := unix.Unlinkat(tg.dir, tg.base, unix.AT_REMOVEDIR); err != nil {
		return errnoOf(err), nil
	}
	if rel, err := filepath.Rel(s.root, where); err == nil && rel != "." && !strings.HasPrefix(rel, "..") {
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.recs)+len(s.removed) >= s.max {
			return 0, s.overLimit()
		}
		s.removed = append(s.removed, filepath.ToSlash(rel))
	}
	return 0, nil
}

func (s *supervisor) chown(n notif, c call, tg target) (unix.Errno, error) {
	id, err := tg.identify()
	if err != nil {
		return errnoOf(err), nil
	}
	return 0, s.record(id, func(r *record) {
		if id := uint32(n.Data.Args[c.uid]); id != ^uint32(0) {
			r.Uid = int64(id)
		}
		if id := uint32(n.Data.Args[c.gid]); id != ^uint32(0) {
			r.Gid = int64(id)
		}
	})
}

// mknod makes an empty file with the device's permissions (less the
// caller's umask) where the device node goes, and records the device as
// the kernel would make it: dev is an unsigned int (32 bits) the kernel
// splits with new_decode_dev.
func (s *supervisor) mknod(n notif, c call, tg target) (unix.Errno, error) {
	mode := uint32(uint16(n.Data.Args[c.mode]))
	fd, err := unix.Openat(tg.dir, tg.base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return errnoOf(err), nil
	}
	defer unix.Close(fd)
	if err := unix.Fchmod(fd, mode&0o7777&^s.umask(n.Pid)); err != nil {
		return errnoOf(err), nil
	}
	id, _, err := identify(fd, "", unix.AT_EMPTY_PATH)
	if err != nil {
		return errnoOf(err), nil
	}
	typ := byte(tar.TypeChar)
	if mode&unix.S_IFMT == unix.S_IFBLK {
		typ = tar.TypeBlock
	}
	major, minor := decodeDev(uint32(n.Data.Args[c.dev]))
	return 0, s.record(id, func(r *record) { r.Device, r.Major, r.Minor = typ, major, minor })
}

// decodeDev is the kernel's new_decode_dev: 12 bits of major, 20 of
// minor.
func decodeDev(dev uint32) (major, minor uint32) {
	return (dev & 0xfff00) >> 8, (dev & 0xff) | ((dev >> 12) & 0xfff00)
}

// record changes what is recorded of the file id, one record per file
// however many calls change it.
func (s *supervisor) record(id fileID, change func(*record)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	if !ok {
		if len(s.recs)+len(s.removed) >= s.max {
			return s.overLimit()
		}
		r = &record{Dev: id.Dev, Ino: id.Ino, Btime: id.Btime, Uid: -1, Gid: -1}
		s.recs[id] = r
	}
	change(r)
	return nil
}

func (s *supervisor) overLimit() error {
	return fmt.Errorf("the script changed the owner or device of more than %d files or removed that many directories (the limit of entries, $%s)", s.max, envMaxEntries)
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
