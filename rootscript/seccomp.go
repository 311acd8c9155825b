//go:build linux

package rootscript

import (
	"errors"
	"fmt"
	"sort"
	"unsafe"

	"golang.org/x/sys/unix"
)

// call says where the arguments of a faked system call are: argument
// indexes, -1 where the call has none.
type call struct {
	mknod bool // mknod(at)
	rmdir bool // rmdir, unlinkat(AT_REMOVEDIR)
	// whenFlags, when not 0, are the bits of the flags argument without
	// which the call is not faked (unlinkat of a file runs as it is).
	whenFlags uint32
	// dirfd is the directory a relative path starts from (-1: the working
	// directory); with path -1 it is the file itself (fchown).
	dirfd, path int
	uid, gid    int
	flags       int  // the AT_* flags
	nofollow    bool // lchown: the last name is not followed
	mode, dev   int
}

// seccompData, notif and notifResp are the kernel's struct seccomp_data,
// seccomp_notif and seccomp_notif_resp.
type seccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

type notif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type notifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// BPF instructions the filter uses.
const (
	bpfLoadWord = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	bpfJumpEq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	bpfJumpSet  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	bpfReturn   = unix.BPF_RET | unix.BPF_K
)

// insn is a filter instruction whose jumps may name the two returns.
type insn struct {
	unix.SockFilter
	jt, jf string // "allow", "notify", or "" for Jt/Jf as they are
}

// program is the filter: a faked call of this architecture's ABI goes to
// the supervisor (one with `when`, only with those flags), every other
// call is allowed (and still meets the Nix sandbox's own filter, which
// the kernel runs too).
func program() []unix.SockFilter {
	nrs := make([]uint32, 0, len(faked))
	for nr := range faked {
		nrs = append(nrs, nr)
	}
	sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
	ins := []insn{
		{SockFilter: unix.SockFilter{Code: bpfLoadWord, K: uint32(unsafe.Offsetof(seccompData{}.Arch))}},
		{SockFilter: unix.SockFilter{Code: bpfJumpEq, K: auditArch}, jf: "allow"},
		{SockFilter: unix.SockFilter{Code: bpfLoadWord, K: uint32(unsafe.Offsetof(seccompData{}.Nr))}},
	}
	for _, nr := range nrs {
		c := faked[nr]
		if c.whenFlags == 0 {
			ins = append(ins, insn{SockFilter: unix.SockFilter{Code: bpfJumpEq, K: nr}, jt: "notify"})
			continue
		}
		// The low word of the flags argument (little-endian), then its bits;
		// another call skips both, the number still loaded.
		ins = append(ins,
			insn{SockFilter: unix.SockFilter{Code: bpfJumpEq, K: nr, Jf: 2}},
			insn{SockFilter: unix.SockFilter{Code: bpfLoadWord, K: uint32(unsafe.Offsetof(seccompData{}.Args)) + 8*uint32(c.flags)}},
			insn{SockFilter: unix.SockFilter{Code: bpfJumpSet, K: c.whenFlags}, jt: "notify", jf: "allow"},
		)
	}
	ins = append(ins,
		insn{SockFilter: unix.SockFilter{Code: bpfReturn, K: unix.SECCOMP_RET_ALLOW}},
		insn{SockFilter: unix.SockFilter{Code: bpfReturn, K: unix.SECCOMP_RET_USER_NOTIF}},
	)
	at := map[string]int{"allow": len(ins) - 2, "notify": len(ins) - 1}
	prog := make([]unix.SockFilter, len(ins))
	for i, in := range ins {
		if in.jt != "" {
			in.Jt = uint8(at[in.jt] - i - 1)
		}
		if in.jf != "" {
			in.Jf = uint8(at[in.jf] - i - 1)
		}
		prog[i] = in.SockFilter
	}
	return prog
}

// installFilter puts the filter on the calling thread (and so on every
// process it starts) and returns the descriptor its calls are read from.
// The caller must be locked to its thread.
func installFilter() (int, error) {
	prog := program()
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, fmt.Errorf("setting no_new_privs: %w", err)
	}
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return -1, fmt.Errorf("installing the seccomp filter that fakes chown and mknod (Linux 5.0 or later): %w", errno)
	}
	return int(fd), nil
}

// receive waits for the next faked call. It returns false once no
// process uses the filter any more.
func receive(fd int) (notif, bool, error) {
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return notif{}, false, fmt.Errorf("waiting for the script's calls: %w", err)
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			return notif{}, false, nil // POLLHUP: every process of the script ended
		}
		var n notif
		if err := ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&n)); err != nil {
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOENT) {
				continue // interrupted, or the caller died before it was read
			}
			return notif{}, false, fmt.Errorf("reading the script's call: %w", err)
		}
		return n, true, nil
	}
}

// respond answers call id: errno 0 is success, continueCall lets the
// kernel run the call as it is.
func respond(fd int, id uint64, errno unix.Errno, continueCall bool) {
	r := notifResp{ID: id}
	if errno != 0 {
		r.Error = -int32(errno)
	}
	if continueCall {
		r.Flags = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
	}
	// ENOENT: the caller was killed meanwhile; nothing to answer.
	ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&r))
}

// valid says whether call id is still waiting, so that what was read of
// its memory belongs to it.
func valid(fd int, id uint64) bool {
	return ioctl(fd, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id)) == nil
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}
