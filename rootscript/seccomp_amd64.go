//go:build linux

package rootscript

import "golang.org/x/sys/unix"

// supported: the filter knows this architecture's calls.
const supported = true

// auditArch is this architecture's AUDIT_ARCH value, which the filter
// checks so that calls of another ABI (i386 on x86_64) are not misread.
const auditArch = unix.AUDIT_ARCH_X86_64

// faked are the calls the supervisor answers, with where their arguments
// are.
var faked = map[uint32]call{
	unix.SYS_CHOWN:    {dirfd: -1, path: 0, uid: 1, gid: 2, flags: -1},
	unix.SYS_LCHOWN:   {dirfd: -1, path: 0, uid: 1, gid: 2, flags: -1, nofollow: true},
	unix.SYS_FCHOWN:   {dirfd: 0, path: -1, uid: 1, gid: 2, flags: -1},
	unix.SYS_FCHOWNAT: {dirfd: 0, path: 1, uid: 2, gid: 3, flags: 4},
	unix.SYS_MKNOD:    {mknod: true, dirfd: -1, path: 0, mode: 1, dev: 2, flags: -1},
	unix.SYS_MKNODAT:  {mknod: true, dirfd: 0, path: 1, mode: 2, dev: 3, flags: -1},
	unix.SYS_RMDIR:    {rmdir: true, dirfd: -1, path: 0, flags: -1},
	unix.SYS_UNLINKAT: {rmdir: true, dirfd: 0, path: 1, flags: 2, whenFlags: unix.AT_REMOVEDIR},
}
