//go:build linux

package rootscript

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// leftovers names the processes of this PID namespace but this one (its
// init): what the script left running, in nested PID namespaces too. An
// orphan that ended (a zombie this process has not reaped) is not one.
func leftovers(proc int) []string {
	fd, err := unix.Openat(proc, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return []string{"(unknown: reading /proc: " + err.Error() + ")"}
	}
	d := os.NewFile(uintptr(fd), "/proc")
	names, _ := d.Readdirnames(-1)
	d.Close()
	var pids []int
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil && pid != 1 && !ended(proc, pid) {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	var left []string
	for i, pid := range pids {
		if i == maxNamed {
			left = append(left, fmt.Sprintf("and %d more", len(pids)-i))
			break
		}
		left = append(left, fmt.Sprintf("%d (%s)", pid, comm(proc, pid)))
	}
	return left
}

// endAll kills every process of this PID namespace but this one, and
// reaps them: they are this process's children or, orphaned, become
// them. A process killed cannot fork any more, and one forked while the
// kill went round was forked before it, so the loop ends.
func endAll() {
	for {
		unix.Kill(-1, unix.SIGKILL)
		var ws unix.WaitStatus
		if _, err := unix.Wait4(-1, &ws, 0, nil); errors.Is(err, unix.ECHILD) {
			return
		}
	}
}

// ended says whether process pid is a zombie (or gone).
func ended(proc, pid int) bool {
	b, err := readProc(proc, fmt.Sprintf("%d/stat", pid))
	if err != nil {
		return true
	}
	// "PID (comm) STATE ...": comm may hold anything, ") " too.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}

func comm(proc, pid int) string {
	b, err := readProc(proc, fmt.Sprintf("%d/comm", pid))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// readProc reads a file of /proc (the descriptor proc), 1 MiB at most.
func readProc(proc int, name string) ([]byte, error) {
	fd, err := unix.Openat(proc, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}
