//go:build linux

package rootscript

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/layers"
)

// Hostile scripts. Each runs in a process of its own (this test binary
// again, attackEnv set), whose peak RSS (its and its children's) and time
// the test measures; the processes a script starts carry a marker in
// their command line, and none may be left when the run returns.

// attackEnv holds the attackRun a child process of the test runs.
const attackEnv = "NIXLAYER_ROOTSCRIPT_ATTACK"

// attackRun is what such a child does: Run the script over a new tree
// (with a Snapshot first when Snapshot is set), then Changes.
type attackRun struct {
	Script, Shell string
	Chroot        bool
	Store         string
	Changes       bool
	// Base, when not 0, is how many files (in directories of 1,000) the
	// tree holds before the script, taken in a Snapshot.
	Base int
}

// attackResult is what the child prints.
type attackResult struct {
	Err     string
	Logged  int64 // bytes the script's output gave opts.Log
	Entries int
}

// runAttackChild runs the attackRun in attackEnv, when there is one, and
// exits; SIGTERM cancels the run as it does nixlayer's.
func runAttackChild() {
	spec := os.Getenv(attackEnv)
	if spec == "" {
		return
	}
	var a attackRun
	if err := json.Unmarshal([]byte(spec), &a); err != nil {
		panic(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	res := attackResult{}
	err := func() error {
		dir, err := os.MkdirTemp("", "nixlayer-attack-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		tr, err := New(dir)
		if err != nil {
			return err
		}
		defer tr.Close()
		if a.Base > 0 {
			if err := addBase(tr, a.Base); err != nil {
				return err
			}
		}
		log := &countWriter{}
		if err := tr.Run(ctx, Options{Name: "runAsRoot", Script: a.Script, Shell: a.Shell, Chroot: a.Chroot, StoreDir: a.Store, Log: log}); err != nil {
			return err
		}
		res.Logged = log.n
		if !a.Changes {
			return nil
		}
		es, err := tr.Changes()
		res.Entries = len(es)
		return err
	}()
	if err != nil {
		res.Err = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(res)
	os.Exit(0)
}

// addBase extracts n files (a tenth owned by 1000) into the tree, as a
// base image's are (a tar stream), and takes a Snapshot.
func addBase(tr *Tree, n int) error {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := tw.WriteHeader(&tar.Header{Name: "base/", Typeflag: tar.TypeDir, Mode: 0o755})
		for i := 0; i < n && err == nil; i++ {
			if i%1000 == 0 {
				err = tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("base/d%d/", i/1000), Typeflag: tar.TypeDir, Mode: 0o755})
			}
			if err == nil {
				err = tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("base/d%d/f%d", i/1000, i), Typeflag: tar.TypeReg, Mode: 0o644, Uid: 1000 * (i % 10 / 9)})
			}
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	if err := tr.Extract(pr); err != nil {
		return err
	}
	return tr.Snapshot()
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(b []byte) (int, error) { w.n += int64(len(b)); return len(b), nil }

// measured is what one attack cost.
type measured struct {
	res     attackResult
	rssMiB  int64
	elapsed time.Duration
	// termToExit is the time from SIGTERM to the exit (with termAfter).
	termToExit time.Duration
}

// attack runs a in a child process, sending it SIGTERM after termAfter
// when that is not 0, killing it after timeout.
func attack(t *testing.T, a attackRun, env []string, termAfter, timeout time.Duration) measured {
	t.Helper()
	spec, _ := json.Marshal(a)
	cmd, rssFile := testutil.MeasuredCommand(t, termAfter == 0, os.Args[0], "-test.run=^$")
	// Its tree under the test's directory, removed even if it is killed.
	cmd.Env = append(append(os.Environ(), attackEnv+"="+string(spec), "TMPDIR="+t.TempDir()), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var termAt time.Time
	if termAfter > 0 {
		time.AfterFunc(termAfter, func() { termAt = time.Now(); cmd.Process.Signal(syscall.SIGTERM) })
	}
	killer := time.AfterFunc(timeout, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	err := cmd.Wait()
	end := time.Now()
	killer.Stop()
	m := measured{elapsed: end.Sub(start), rssMiB: testutil.PeakRSSMiB(cmd, rssFile)}
	if !termAt.IsZero() {
		m.termToExit = end.Sub(termAt)
	}
	if m.elapsed >= timeout {
		t.Fatalf("still running after %v: killed", timeout)
	}
	if err != nil || json.Unmarshal(stdout.Bytes(), &m.res) != nil {
		t.Fatalf("the attack's process: %v\n%s\n%s", err, stdout.Bytes(), stderr.Bytes())
	}
	t.Logf("%s: peak RSS %d MiB, %v (SIGTERM to exit %v)", t.Name(), m.rssMiB, m.elapsed.Round(time.Millisecond), m.termToExit.Round(time.Millisecond))
	return m
}

// running are the processes whose command line holds marker: "PID:
// command line".
func running(marker string) []string {
	var found []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(marker)) && !bytes.Contains(b, []byte(attackEnv)) {
			found = append(found, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return found
}

// noneLeft fails the test if a process holding marker runs, and kills it.
func noneLeft(t *testing.T, marker string) {
	t.Helper()
	time.Sleep(100 * time.Millisecond)
	if left := running(marker); len(left) > 0 {
		t.Errorf("processes left running after the run returned: %v", left)
		for _, l := range left {
			pid, _, _ := strings.Cut(l, ":")
			if n, err := strconv.Atoi(pid); err == nil {
				syscall.Kill(n, syscall.SIGKILL)
			}
		}
	}
}

func wantErr(t *testing.T, got string, want ...string) {
	t.Helper()
	if len(want) == 0 && got != "" {
		t.Errorf("error %q, want none", got)
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("error %q does not say %q", got, w)
		}
	}
}

// TestAttackLeftRunning: processes a script leaves behind, however deep,
// in a PID namespace of their own, in a session of their own, or
// respawning themselves, are killed when the script's main process ends
// and named in the error; none outlives the run.
func TestAttackLeftRunning(t *testing.T) {
	sh := busybox(t)
	cases := []struct {
		name, script, marker string
		want                 []string
	}{
		{"grandchild", "(sleep 100011 & wait) & sleep 0.5", "100011", []string{"left processes running", "(sleep)"}},
		{"own PID namespace", "unshare -p -f sleep 100012 & sleep 0.5", "100012", []string{"left processes running", "(sleep)"}},
		{"setsid daemon", "setsid sleep 100013 & sleep 0.5", "100013", []string{"left processes running", "(sleep)"}},
		{"respawning chain", "s() { sleep 100014 & sleep 0.01; s & }; s & sleep 0.5", "100014", []string{"left processes running", "(sleep)"}},
		{"300 orphans", "for i in $(seq 300); do (sleep 100017 &); done; sleep 0.2", "100017", []string{"left processes running", "(sleep)", "and 268 more"}},
		{"kill the supervisor", "setsid sleep 100015 & kill -9 $PPID; kill -TERM $PPID; kill -ABRT $PPID; kill -SEGV $PPID; sleep 0.5", "100015", []string{"left processes running", "(sleep)"}},
		{"hold its stderr", "(exec 7>/proc/$PPID/fd/2); (exec 8>/proc/$PPID/fd/1); setsid sleep 100016 & sleep 0.5", "100016",
			[]string{"left processes running", "(sleep)", "can't create /proc/1/fd/2: Permission denied", "can't create /proc/1/fd/1: Permission denied"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := attack(t, attackRun{Script: c.script, Shell: sh}, nil, 0, 60*time.Second)
			wantErr(t, m.res.Err, c.want...)
			if strings.Contains(m.res.Err, "setting up the script's namespaces") {
				t.Errorf("the script reached the supervisor: %s", m.res.Err)
			}
			// Far below the sleeps' 100000 s: nothing waited for them (300
			// orphans take about 8 s on a quiet 2-core machine, more under load).
			if m.elapsed > 30*time.Second {
				t.Errorf("the run took %v", m.elapsed)
			}
			noneLeft(t, c.marker)
		})
	}
}

// TestOrphansThatEnded: processes that ended before the script, orphaned
// (zombies of the supervisor until it reaps them), are not "left
// running".
func TestOrphansThatEnded(t *testing.T) {
	sh := busybox(t)
	tr := newTree(t)
	if err := tr.Run(context.Background(), Options{Name: "runAsRoot", Script: "(sleep 0.1 &); (true &); sleep 0.5", Shell: sh}); err != nil {
		t.Fatal(err)
	}
}

// TestAttackSIGTERM: SIGTERM stops a run within a second, whatever the
// script holds, and leaves nothing running.
func TestAttackSIGTERM(t *testing.T) {
	sh := busybox(t)
	for _, c := range []struct{ name, script, marker string }{
		{"long script", "sleep 100021", "100021"},
		{"daemon holding the supervisor's stderr", "(exec 7>/proc/$PPID/fd/2; setsid sleep 100022) & sleep 100023", "10002"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := attack(t, attackRun{Script: c.script, Shell: sh}, nil, time.Second, 60*time.Second)
			wantErr(t, m.res.Err, "stopped")
			if m.termToExit > time.Second {
				t.Errorf("SIGTERM to exit took %v", m.termToExit)
			}
			noneLeft(t, c.marker)
		})
	}
}

// TestAttackOutput: a script's output is streamed with a bound, however
// large it is, made sparse through /proc/self/fd/1, or aimed at the
// supervisor's own descriptors.
func TestAttackOutput(t *testing.T) {
	sh := busybox(t)
	const maxRSS = 150 // MiB
	cases := []struct {
		name, script string
		want         []string
		logged       int64 // at most, when the run succeeds
	}{
		{"sparse stdout", "truncate -s 1500M /proc/self/fd/1; echo done", nil, 1 << 10},
		{"the supervisor's result and output files", "truncate -s 1500M /proc/self/fd/3 /proc/self/fd/4 /proc/1/fd/4; echo '{\"exit\":0}' >/proc/self/fd/4; echo done", nil, 1 << 10},
		{"600 MB of output", "head -c 600000000 /dev/zero", nil, maxLogged + maxShown + 100},
		{"600 MB at the supervisor's stderr", "head -c 600000000 /dev/zero > /proc/$PPID/fd/2", []string{"exited with status", "ermission denied"}, 0},
		{"600 MB of output, failing", "head -c 600000000 /dev/zero; exit 1", []string{"exited with status 1", "..."}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := attack(t, attackRun{Script: c.script, Shell: sh}, nil, 0, 120*time.Second)
			wantErr(t, m.res.Err, c.want...)
			if len(m.res.Err) > 2*maxShown {
				t.Errorf("the error holds %d bytes", len(m.res.Err))
			}
			if c.want == nil && m.res.Logged > c.logged {
				t.Errorf("the log got %d bytes, want %d at most", m.res.Logged, c.logged)
			}
			if m.rssMiB > maxRSS {
				t.Errorf("peak RSS %d MiB, want %d at most", m.rssMiB, maxRSS)
			}
		})
	}
}

// TestAttackCapture: what a script makes is captured within the limits:
// a file, all files, the number of files, and the files its faked calls
// change (one record per file however many calls).
func TestAttackCapture(t *testing.T) {
	sh := busybox(t)
	const maxRSS = 150 // MiB
	cases := []struct {
		name, script string
		env          []string
		want         []string
		maxRSS       int64
		base         int
	}{
		{"sparse 1 GiB file", "truncate -s 1G big", nil, []string{"made /big of 1073741824 bytes", "$" + envMaxFileBytes}, maxRSS, 0},
		{"4 sparse files of 200 MiB, left in the tree", "truncate -s 200M a b c d", nil, nil, 100, 0},
		{"all files", "head -c 600000 /dev/zero > a; head -c 600000 /dev/zero > b", []string{envMaxBytes + "=1000000"}, []string{"more than 1000000 bytes of files, /b", "$" + envMaxBytes}, maxRSS, 0},
		{"entries", "mkdir d && cd d && seq 1001 | xargs touch", []string{envMaxEntries + "=1000"}, []string{"more than 1000 files", "$" + envMaxEntries}, maxRSS, 0},
		{"changed entries", "mkdir d && cd d && seq 1001 | xargs touch && chown 5 *", []string{envMaxEntries + "=1000"}, []string{"owner or device of more than 1000 files"}, maxRSS, 0},
		{"200,000 chowns of one file", "touch f && yes f | head -n 200000 | xargs chown 5", nil, nil, maxRSS, 0},
		{"100,000 files", "mkdir d && cd d && seq 100000 | xargs touch", nil, nil, maxRSS, 0},
		{"a base of 100,000 files, 10 changed", "for i in 1 2 3 4 5 6 7 8 9 10; do echo $i > base/d$i/f${i}000; done", nil, nil, maxRSS, 100000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := attack(t, attackRun{Script: c.script, Shell: sh, Changes: true, Base: c.base}, c.env, 0, 300*time.Second)
			wantErr(t, m.res.Err, c.want...)
			if m.rssMiB > c.maxRSS {
				t.Errorf("peak RSS %d MiB, want %d at most", m.rssMiB, c.maxRSS)
			}
		})
	}
}

// TestAttackStore: the store stays read-only and mounted for the script,
// and a change under the store directory of the tree is an error naming
// it.
func TestAttackStore(t *testing.T) {
	sh := busybox(t)
	store := storeOf(t, filepath.Dir(sh))
	bbDir := filepath.Dir(filepath.Dir(sh))
	cases := []struct {
		name, script string
		chroot       bool
		want         []string
	}{
		{"umount the store", fmt.Sprintf("umount -l %s; echo x > %s/new", store, bbDir), true, []string{"exited with status", "Read-only file system"}},
		{"remount it writable", fmt.Sprintf("mount -o remount,rw,bind %s; echo x > %s/new", store, bbDir), true, []string{"exited with status", "Read-only file system"}},
		{"write under the store in the tree", "mkdir -p nix/store/00000000000000000000000000000000-x && echo x > nix/store/00000000000000000000000000000000-x/f", false,
			[]string{"changed /nix/store/00000000000000000000000000000000-x", "store paths are read-only"}},
	}
	sp := "nix/store/00000000000000000000000000000000-base"
	for _, rm := range []struct{ what, want string }{
		{sp + "/f", "changed /" + sp + ", in the store"},
		{sp, "deleted /" + sp + ", in the store"},
	} {
		t.Run("delete "+rm.what+" of the base", func(t *testing.T) {
			tr := newTree(t)
			if err := tr.Add([]layers.Entry{layers.Dir("nix", 0o755), layers.Dir("nix/store", 0o755), layers.Dir(sp, 0o755), layers.File(sp+"/f", 0o644, nil)}); err != nil {
				t.Fatal(err)
			}
			if err := tr.Snapshot(); err != nil {
				t.Fatal(err)
			}
			err := tr.Run(context.Background(), Options{Name: "fakeRootCommands", Script: "rm -r " + rm.what, Shell: sh})
			if err == nil {
				_, err = tr.Changes()
			}
			if err == nil || !strings.Contains(err.Error(), rm.want) {
				t.Errorf("got %v, want %q", err, rm.want)
			}
		})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newTree(t)
			s := ""
			if c.chroot {
				s = store
			}
			err := tr.Run(context.Background(), Options{Name: "runAsRoot", Script: c.script, Shell: sh, Chroot: c.chroot, StoreDir: s})
			if err == nil {
				_, err = tr.Changes()
			}
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			wantErr(t, err.Error(), c.want...)
			if _, err := os.Stat(bbDir + "/new"); err == nil {
				t.Errorf("the script wrote %s/new", bbDir)
			}
		})
	}
}

// TestNestedChroot: a script that chroots again has its faked calls act
// inside its new root.
func TestNestedChroot(t *testing.T) {
	sh := busybox(t)
	bb := filepath.Join(filepath.Dir(sh), "busybox")
	tr := newTree(t)
	script := strings.Join([]string{
		"set -e",
		"mkdir -p /t/victim /victim /t/etc /t/dev /t/sub",
		"touch /t/etc/f",
		"cp " + bb + " /t/busybox",
		"chroot /t /busybox rmdir /victim",
		"chroot /t /busybox mknod /dev/x c 1 3",
		"chroot /t /busybox chown 1234 /etc/f",
		"chroot /t /busybox sh -c 'cd /sub && /busybox chown 77 ../etc/f && /busybox mknod ../../../dev/y b 8 1'",
	}, "\n")
	if err := tr.Run(context.Background(), Options{Name: "runAsRoot", Script: script, Shell: sh, Chroot: true, StoreDir: storeOf(t, filepath.Dir(sh))}); err != nil {
		t.Fatal(err)
	}
	got, err := tr.Changes()
	if err != nil {
		t.Fatal(err)
	}
	m := byName(got)
	if _, ok := m["victim"]; !ok {
		t.Errorf("/victim was removed: %v", names(got))
	}
	if _, ok := m["t/victim"]; ok {
		t.Errorf("/t/victim is still there")
	}
	if e, ok := m["t/dev/x"]; !ok || e.Type != '3' || e.Devmajor != 1 || e.Devminor != 3 {
		t.Errorf("/t/dev/x: %+v (present %v), want the character device 1,3", e, ok)
	}
	if e, ok := m["t/dev/y"]; !ok || e.Type != '4' || e.Devmajor != 8 || e.Devminor != 1 {
		t.Errorf("/t/dev/y: %+v (present %v), want the block device 8,1", e, ok)
	}
	for _, n := range []string{"dev/x", "dev/y"} {
		if _, ok := m[n]; ok {
			t.Errorf("/%s was made at the image's root", n)
		}
	}
	if e := m["t/etc/f"]; e.Uid != 77 {
		t.Errorf("/t/etc/f is owned by %d, want 77", e.Uid)
	}
}

// mknodEnv makes this test binary a program that calls mknodat with a
// raw 64-bit device number: NAME=DEV.
const mknodEnv = "NIXLAYER_TEST_MKNOD"

var atFDCWD = unix.AT_FDCWD

func runMknod() {
	v := os.Getenv(mknodEnv)
	if v == "" {
		return
	}
	name, devS, _ := strings.Cut(v, "=")
	var dev uint64
	fmt.Sscan(devS, &dev)
	p, _ := syscall.BytePtrFromString(name)
	_, _, errno := syscall.Syscall6(syscall.SYS_MKNODAT, uintptr(atFDCWD), uintptr(unsafe.Pointer(p)), syscall.S_IFCHR|0o644, uintptr(dev), 0, 0)
	if errno != 0 {
		fmt.Fprintln(os.Stderr, "mknodat:", errno)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestDeviceNumbers: the device a raw mknodat gives is the one the kernel
// would make of its 32-bit dev.
func TestDeviceNumbers(t *testing.T) {
	sh := busybox(t)
	exe, err := filepath.Abs(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		dev          string
		major, minor int64
	}{
		{"0xffffffffffffffff", 4095, 1048575},
		{"0x100000103", 1, 3},
		{"0x0000000012345678", 0x456, 0x12378},
		{"0x0801", 8, 1},
	}
	var script []string
	for i, c := range cases {
		script = append(script, fmt.Sprintf("%s=d%d=%s %s", mknodEnv, i, c.dev, exe))
	}
	tr := newTree(t)
	if err := tr.Run(context.Background(), Options{Name: "fakeRootCommands", Script: strings.Join(script, " && "), Shell: sh}); err != nil {
		t.Fatal(err)
	}
	got, err := tr.Changes()
	if err != nil {
		t.Fatal(err)
	}
	m := byName(got)
	for i, c := range cases {
		e := m[fmt.Sprintf("d%d", i)]
		if e.Type != '3' || e.Devmajor != c.major || e.Devminor != c.minor {
			t.Errorf("dev %s: type %q %d,%d, want a character device %d,%d", c.dev, e.Type, e.Devmajor, e.Devminor, c.major, c.minor)
		}
	}
}
