//go:build linux

package rootscript

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// childEnv names the file holding a child's config: set, the process is
// the child Run started and Init runs it.
const childEnv = "NIXLAYER_ROOTSCRIPT"

// config is what Run tells its child.
type config struct {
	Root   string   `json:"root"`   // the tree on disk
	Chroot bool     `json:"chroot"` // the tree is the script's /
	Binds  []string `json:"binds"`  // store paths bound read-only under Root (Chroot)
	Store  string   `json:"store"`  // the store directory, bound read-only onto itself first
	// Proc and Tmp are the mount points under Root Run made or found
	// (Chroot): /proc of the build, a tmpfs; empty when there is none.
	Proc, Tmp string
	// Devs are the build's device nodes bound at the same paths under
	// Root (Chroot): the rest of the image's /dev is its own.
	Devs   []string `json:"devs"`
	Argv   []string `json:"argv"`
	Env    []string `json:"env"`
	Dir    string   `json:"dir"`    // the script's working directory, as it sees it
	TmpDir string   `json:"tmpDir"` // a writable directory outside Root (not Chroot)
	// The script's output goes to descriptor 3 and the result to 4, both
	// opened by Run: files open for writing in this mount namespace
	// would keep its mounts from being made read-only.
}

const (
	outputFD = 3
	resultFD = 4
)

// result is what the child tells Run.
type result struct {
	Records []record `json:"records"`
	// Exit is the script's exit status (-1: killed by a signal, Signal).
	Exit   int      `json:"exit"`
	Signal string   `json:"signal,omitempty"`
	Left   []string `json:"left,omitempty"` // processes running after the script ended
	Error  string   `json:"error,omitempty"`
}

// Init runs the child of Run when this process is one, and does not
// return then. Call it first in main (and in TestMain of tests that Run
// scripts): Run starts this same executable again.
func Init() {
	cfgPath := os.Getenv(childEnv)
	if cfgPath == "" {
		return
	}
	runtime.LockOSThread()
	var cfg config
	data, err := os.ReadFile(cfgPath)
	if err == nil {
		err = json.Unmarshal(data, &cfg)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "nixlayer root script: reading %s: %v\n", cfgPath, err)
		os.Exit(3)
	}
	res := child(&cfg)
	out, _ := json.Marshal(res)
	if _, err := os.NewFile(resultFD, "result").Write(out); err != nil {
		fmt.Fprintf(os.Stderr, "nixlayer root script: writing its result: %v\n", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// child sets up the script's view, runs it under the supervisor and ends
// what it left running.
func child(cfg *config) result {
	fail := func(err error) result { return result{Error: err.Error()} }
	// Opened before the root changes: /dev/null for the script's input,
	// /proc for the supervisor.
	out := os.NewFile(outputFD, "output")
	null, err := os.Open(os.DevNull)
	if err != nil {
		return fail(err)
	}
	proc, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(fmt.Errorf("opening /proc: %w", err))
	}
	if err := mountView(cfg); err != nil {
		return fail(err)
	}
	if cfg.Chroot {
		if err := unix.Chroot(cfg.Root); err != nil {
			return fail(fmt.Errorf("changing the root to the image: %w", err))
		}
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fail(fmt.Errorf("becoming the subreaper of the script: %w", err))
	}
	listener, err := installFilter()
	if err != nil {
		return fail(err)
	}
	sup := &supervisor{listener: listener, proc: proc, root: cfg.Root}
	if cfg.Chroot {
		sup.root = "/"
	}
	var cmdPid atomicPid
	go func() {
		sup.serve()
		sup.mu.Lock()
		failed := sup.err != nil
		sup.mu.Unlock()
		if failed {
			// Calls the script makes now would wait for ever: it is
			// ended, and its error says why.
			cmdPid.kill()
		}
	}()

	cmd := exec.Command(cfg.Argv[0], cfg.Argv[1:]...)
	cmd.Env, cmd.Dir = cfg.Env, cfg.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, out, out
	// Should this process die, so does the script.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	runErr := cmd.Start()
	if runErr == nil {
		cmdPid.set(cmd.Process.Pid)
		runErr = cmd.Wait()
	}
	r := result{}
	var ee *exec.ExitError
	switch {
	case runErr == nil:
	case errors.As(runErr, &ee):
		r.Exit = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.Signal = ws.Signal().String()
		}
	default:
		return fail(fmt.Errorf("starting %s: %w", cfg.Argv[0], runErr))
	}
	r.Left = endLeftovers(proc)
	// Every process of the script has ended, so no call is waiting; the
	// supervisor itself ends with this process (the filter is this
	// thread's too, so its descriptor never reports the end).
	sup.mu.Lock()
	defer sup.mu.Unlock()
	if sup.err != nil {
		return fail(sup.err)
	}
	r.Records = sup.records
	return r
}

// atomicPid is the script's process group, once it started.
type atomicPid struct {
	mu  sync.Mutex
	pid int
}

func (a *atomicPid) set(pid int) { a.mu.Lock(); a.pid = pid; a.mu.Unlock() }

func (a *atomicPid) kill() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pid > 0 {
		unix.Kill(-a.pid, unix.SIGKILL)
	}
}

// endLeftovers kills what the script left running (its orphans are this
// process's children, being their subreaper), waits for them, and says
// what they were.
func endLeftovers(proc int) []string {
	var left []string
	for round := 0; round < 100; round++ {
		kids := children(proc)
		if len(kids) == 0 {
			break
		}
		for _, pid := range kids {
			if round == 0 {
				left = append(left, fmt.Sprintf("%d (%s)", pid, comm(proc, pid)))
			}
			unix.Kill(pid, unix.SIGKILL)
		}
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, 0, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
	sort.Strings(left)
	return left
}

// children are the running child processes of this process.
func children(proc int) []int {
	var pids []int
	dir := fmt.Sprintf("%d/task", os.Getpid())
	fd, err := unix.Openat(proc, dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	d := os.NewFile(uintptr(fd), dir)
	tasks, _ := d.Readdirnames(-1)
	d.Close()
	for _, t := range tasks {
		data, err := readProc(proc, dir+"/"+t+"/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

func comm(proc, pid int) string {
	b, err := readProc(proc, fmt.Sprintf("%d/comm", pid))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// readProc reads a file of /proc (the descriptor proc).
func readProc(proc int, name string) ([]byte, error) {
	fd, err := unix.Openat(proc, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}
