package tests

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// Hostile root scripts, in the Nix sandbox and through the CLI: they end
// in a clear error or the right image, with nothing left running, peak
// RSS bounded, and SIGTERM obeyed within a second.

// TestRootScriptAttacksInSandbox: scripts that leave processes behind
// (deep, in their own PID namespace, in their own session), kill or hold
// the supervisor, unmount the store or write under it; each fails the
// build quickly with an error naming what happened.
func TestRootScriptAttacksInSandbox(t *testing.T) {
	cases := []struct {
		name, args string
		want       []string
	}{
		{"grandchild", `runAsRoot = "(sleep 987654 & wait) & sleep 0.5";`,
			[]string{"runAsRoot left processes running when it ended, which nixlayer killed", "(sleep)"}},
		{"own PID namespace", `fakeRootCommands = "unshare -p -f sleep 987654 & sleep 0.5";`,
			[]string{"fakeRootCommands left processes running", "(sleep)"}},
		{"kill the supervisor", `fakeRootCommands = "setsid sleep 987654 & kill -9 $PPID; kill $PPID; sleep 0.5";`,
			[]string{"fakeRootCommands left processes running", "(sleep)"}},
		{"hold its stderr", `fakeRootCommands = "(exec 7>/proc/$PPID/fd/2); setsid sleep 987654 & sleep 0.5";`,
			[]string{"fakeRootCommands left processes running", "(sleep)", "can't create /proc/1/fd/2: Permission denied"}},
		{"umount the store", `runAsRoot = "umount -l /nix/store; echo x > ${testPkgs.bbBin}/evil";`,
			[]string{"runAsRoot exited with status 1", "Read-only file system"}},
		{"write under the store, fakechroot", `enableFakechroot = true; fakeRootCommands = "umount -l /nix/store; mkdir -p /nix/store/00000000000000000000000000000000-evil";`,
			[]string{"fakeRootCommands exited with status 1", "Read-only file system"}},
		{"write under the store in the layer", `fakeRootCommands = "mkdir -p nix/store/00000000000000000000000000000000-evil && touch nix/store/00000000000000000000000000000000-evil/f";`,
			[]string{"the script changed /nix/store/00000000000000000000000000000000-evil, in the store: store paths are read-only"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			builder := "buildLayeredImage"
			if strings.Contains(c.args, "runAsRoot") {
				builder = "buildImage"
			}
			start := time.Now()
			errOut := scriptFails(t, builder, c.args, c.want)
			if d := time.Since(start); d > 3*time.Minute {
				t.Errorf("the build took %v", d)
			}
			if strings.Contains(errOut, "setting up the script's namespaces") {
				t.Errorf("the script reached its supervisor:\n%s", lastLines(errOut, 12))
			}
			noSleepMarker(t)
		})
	}
}

// noSleepMarker fails the test while a `sleep 987654` of a script runs,
// and kills it.
func noSleepMarker(t *testing.T) {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Equal(b, []byte("sleep\x00987654\x00")) {
			continue
		}
		t.Errorf("a script's sleep 987654 is still running (pid %s)", e.Name())
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// TestRunAsRootNestedChroot: a script that chroots again makes, removes
// and chowns inside its new root, in the sandbox.
func TestRunAsRootNestedChroot(t *testing.T) {
	expr := `nl.buildImage {
  name = "rootscript-nested";
  contents = [ testPkgs.bbBin ];
  shell = "${testPkgs.bbBin}/bin/sh";
  runAsRoot = ''
    set -e
    mkdir -p /t/etc /t/dev /t/victim /victim
    touch /t/etc/f
    cp ${testPkgs.bbBin}/bin/busybox /t/busybox
    chroot /t /busybox rmdir /victim
    chroot /t /busybox mknod /dev/x c 1 3
    chroot /t /busybox chown 1234 /etc/f
  '';
}`
	out := testutil.NixBuild(t, expr)
	hs := topHeaders(t, out)
	wantHeader(t, hs, "victim", tar.TypeDir, 0o755, 0, 0)
	if h := wantHeader(t, hs, "t/dev/x", tar.TypeChar, 0o644, 0, 0); h.Devmajor != 1 || h.Devminor != 3 {
		t.Errorf("t/dev/x is %d,%d, want 1,3", h.Devmajor, h.Devminor)
	}
	wantHeader(t, hs, "t/etc/f", tar.TypeReg, 0o644, 1234, 0)
	for _, n := range []string{"t/victim", "dev/x"} {
		if _, ok := hs[n]; ok {
			t.Errorf("the layer holds /%s", n)
		}
	}
}

// cliScript runs `nixlayer build-image` with fakeRootCommands script over
// busybox, as a build would, and returns its stderr, its peak RSS (MiB),
// the time from SIGTERM (sent after term, when not 0) to its exit, and
// its error.
func cliScript(t *testing.T, script string, env []string, term time.Duration) (string, int64, time.Duration, error) {
	t.Helper()
	bb, reg := busyboxClosure(t)
	out := filepath.Join(t.TempDir(), "img.tar")
	cmd, rssFile := testutil.MeasuredCommand(t, term == 0, testutil.Exe(t), "build-image", "--closure", reg, "--out", out, "--name", "attack", "--layering", "popularity",
		"--contents", bb, "--shell", bb+"/bin/sh", "--fake-root-commands", script)
	cmd.Env = append(append(os.Environ(), "NIX_ATTRS_JSON_FILE=", "TMPDIR="+t.TempDir()), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var termAt time.Time
	if term > 0 {
		time.AfterFunc(term, func() { termAt = time.Now(); cmd.Process.Signal(syscall.SIGTERM) })
	}
	killer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	end := time.Now()
	killer.Stop()
	rss := testutil.PeakRSSMiB(cmd, rssFile)
	var took time.Duration
	if !termAt.IsZero() {
		took = end.Sub(termAt)
	}
	if err == nil {
		if _, serr := os.Stat(out); serr != nil {
			t.Errorf("the build succeeded without %s: %v", out, serr)
		}
	} else if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Errorf("%s exists after the failed build", out)
	}
	how := "GNU time"
	if rssFile == "" {
		how = "rusage, the test's own RSS included"
	}
	t.Logf("%s: peak RSS %d MiB (%s), SIGTERM to exit %v", t.Name(), rss, how, took)
	return stderr.String(), rss, took, err
}

// TestRootScriptCLIAttacks: nixlayer's own memory stays bounded whatever
// the script writes or makes, and SIGTERM stops everything within a
// second.
func TestRootScriptCLIAttacks(t *testing.T) {
	const maxRSS = 200 // MiB
	cases := []struct {
		name, script string
		env          []string
		term         time.Duration
		want         []string // empty: the build succeeds
	}{
		{"sparse stdout", "truncate -s 1500M /proc/self/fd/1; echo done", nil, 0, nil},
		{"600 MB of output", "head -c 600000000 /dev/zero", nil, 0, nil},
		{"sparse 1 GiB file", "truncate -s 1G big", nil, 0, []string{"made /big of 1073741824 bytes: more than the 268435456", "NIXLAYER_MAX_SCRIPT_FILE_BYTES"}},
		{"SIGTERM with a daemon holding the supervisor's stderr", "(exec 7>/proc/$PPID/fd/2; setsid sleep 987654) & sleep 987654", nil, 2 * time.Second, []string{"stopped"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errOut, rss, took, err := cliScript(t, c.script, c.env, c.term)
			switch {
			case len(c.want) == 0 && err != nil:
				t.Errorf("the build failed: %v\n%s", err, lastLines(errOut, 12))
			case len(c.want) > 0 && err == nil:
				t.Errorf("the build succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("the error does not say %q:\n%s", w, lastLines(errOut, 12))
				}
			}
			if len(errOut) > 20<<20 {
				t.Errorf("nixlayer wrote %d bytes to stderr", len(errOut))
			}
			if rss > maxRSS {
				t.Errorf("peak RSS %d MiB, want %d at most", rss, maxRSS)
			}
			if took > time.Second {
				t.Errorf("SIGTERM to exit took %v", took)
			}
			noSleepMarker(t)
		})
	}
}
