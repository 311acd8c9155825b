//go:build linux

package rootscript

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
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
	// (Chroot): /proc of the script's PID namespace, a tmpfs; empty when
	// there is none.
	Proc, Tmp string
	// Devs are the build's device nodes bound at the same paths under
	// Root (Chroot): the rest of the image's /dev is its own.
	Devs   []string `json:"devs"`
	Argv   []string `json:"argv"`
	Env    []string `json:"env"`
	Dir    string   `json:"dir"`    // the script's working directory, as it sees it
	TmpDir string   `json:"tmpDir"` // a writable directory outside Root (not Chroot)
	// MaxRecords bounds the files the faked calls change (maxEntries).
	MaxRecords int `json:"maxRecords"`
	// The script's output goes to descriptor 3, a pipe Run reads, and the
	// result to 4, a file: both opened by Run, neither passed on to the
	// script, which gets its own copy of the pipe only.
}

const (
	outputFD = 3
	resultFD = 4
)

// result is what the child tells Run.
type result struct {
	// Records are the owners and devices the faked calls gave, one per
	// file; Removed the directories removed (image paths).
	Records []record `json:"records"`
	Removed []string `json:"removed,omitempty"`
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
	// The script shares this process's PID namespace, where this process
	// is its init: the kernel drops SIGKILL and SIGSTOP the script sends
	// it, and the others reach a handler that does nothing with them
	// (not SIG_IGN, which the script would inherit).
	signal.Notify(make(chan os.Signal, 1), catchable()...)
	// Nothing of this process (its memory, its descriptors in /proc) is
	// open to the script, which runs in a user namespace nested in this
	// one: it lacks the rights over this process that root here has.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	for _, fd := range []int{outputFD, resultFD} {
		unix.CloseOnExec(fd)
	}
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

// catchable are the signals a handler can take.
func catchable() []os.Signal {
	var sigs []os.Signal
	for s := syscall.Signal(1); s < 65; s++ {
		if s != syscall.SIGKILL && s != syscall.SIGSTOP {
			sigs = append(sigs, s)
		}
	}
	return sigs
}

// child sets up the script's view, runs it under the supervisor and ends
// what it left running.
func child(cfg *config) result {
	fail := func(err error) result { return result{Error: err.Error()} }
	// Opened before the view changes: /dev/null for the script's input,
	// /proc (of this PID namespace) for the supervisor.
	out := os.NewFile(outputFD, "output")
	null, err := os.Open(os.DevNull)
	if err != nil {
		return fail(err)
	}
	if err := mountProc(); err != nil {
		return fail(err)
	}
	proc, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(fmt.Errorf("opening /proc: %w", err))
	}
	if err := mountView(cfg); err != nil {
		return fail(err)
	}
	listener, err := installFilter()
	if err != nil {
		return fail(err)
	}
	sup := newSupervisor(listener, proc, cfg.Root, cfg.MaxRecords)
	go func() {
		sup.serve()
		if sup.failed() {
			// Calls the script makes now would wait for ever: it is
			// ended, and its error says why.
			unix.Kill(-1, unix.SIGKILL)
		}
	}()

	cmd := exec.Command(cfg.Argv[0], cfg.Argv[1:]...)
	cmd.Env, cmd.Dir = cfg.Env, cfg.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, out, out
	// A user and a mount namespace of its own, nested in this one: the
	// mounts it gets are locked (the store stays read-only and mounted),
	// and this process is out of its reach.
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	if cfg.Chroot {
		cmd.SysProcAttr.Chroot = cfg.Root
	}
	runErr := cmd.Start()
	out.Close() // the script holds the output pipe now, and only it
	if runErr == nil {
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
		endAll()
		return fail(fmt.Errorf("starting %s: %w", cfg.Argv[0], runErr))
	}
	r.Left = leftovers(proc)
	endAll()
	// Every process of the script has ended, so no call is waiting; the
	// supervisor itself ends with this process (the filter is this
	// thread's too, so its descriptor never reports the end).
	if err := sup.result(&r); err != nil {
		return fail(err)
	}
	return r
}

// mountProc mounts a /proc of this PID namespace over the build's, in
// this mount namespace: the script's process IDs are this namespace's,
// and the supervisor finds them there.
func mountProc() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return mountErr("making the mounts private", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return mountErr("mounting a /proc for the script's PID namespace (the kernel allows it where the build's own /proc is a whole one, as in the Nix sandbox; a container that masks parts of its /proc does not)", err)
	}
	return nil
}
