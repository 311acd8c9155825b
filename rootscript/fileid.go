//go:build linux

package rootscript

import (
	"golang.org/x/sys/unix"
)

// identify returns the identity (see fileID) and the change time, in
// nanoseconds, of name from dirfd (unix.AT_FDCWD, or a directory; with
// unix.AT_EMPTY_PATH in flags, the file dirfd is), not following a final
// symlink when flags has unix.AT_SYMLINK_NOFOLLOW. A file system that
// keeps no birth time gives Btime 0.
func identify(dirfd int, name string, flags int) (fileID, int64, error) {
	var st unix.Statx_t
	if err := unix.Statx(dirfd, name, flags|unix.AT_STATX_SYNC_AS_STAT, unix.STATX_INO|unix.STATX_CTIME|unix.STATX_BTIME, &st); err != nil {
		return fileID{}, 0, err
	}
	id := fileID{Dev: unix.Mkdev(st.Dev_major, st.Dev_minor), Ino: st.Ino}
	if st.Mask&unix.STATX_BTIME != 0 {
		id.Btime = nanos(st.Btime)
	}
	return id, nanos(st.Ctime), nil
}

func nanos(t unix.StatxTimestamp) int64 { return t.Sec*1e9 + int64(t.Nsec) }
