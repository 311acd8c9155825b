package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// reprotestVariations are the variations reprotest applies to its second
// build (`reprotest --help`: +all is every one of them). One is off:
//
//   - user_group: building as another user needs sudo and accounts made
//     for it (user_group.available); the test machines run as root and
//     have neither (tried with nobody:nogroup: reprotest stops, sudo
//     missing). nixlayer reads no account of the build machine: owners
//     come from the spec (uid, gid, users, root scripts' chown).
//
// Two do less than their names say on nixlayer's static binary:
//
//   - time: reprotest's faketime is an LD_PRELOAD library, which a static
//     Go binary (nixlayer, busybox) never loads; the second build still
//     runs at another real time, seconds later, which is what `created =
//     "now"` would show (the negative control below).
//   - fileordering: disorderfs shuffles the directory entries of the
//     source tree only; the build's TMPDIR is put inside it, so the trees
//     a root script and extraCommands leave, which nixlayer reads back,
//     are shuffled too. The store is not (Nix's own files). disorderfs, a
//     FUSE file system mounted without use_ino, gives each name of a file
//     its own inode number, so a hard link a root script makes there is
//     two files to nixlayer (as to any program): the script here makes
//     none (tests/rootscript_test.go and the Nix matrix cover hard links).
//     Nor does FUSE give a birth time, by which nixlayer tells a new file
//     from a deleted one whose inode number it got (rootscript's
//     fileID): the script deletes last.
//
// /dev/fuse works here (the tests run as root), so disorderfs does.
const reprotestVariations = "+all,-user_group"

// reprotestLogs are what reprotest logs (--verbosity 1) when it applies
// each variation: the test checks that each was applied, not only asked.
var reprotestLogs = []string{
	"ENVIRONMENT variation", "build_path", "KERNEL variation", "ASLR variation",
	"NUM_CPUS variation", "FAKETIME variation", "DISORDERFS variation",
	"DOMAIN_HOST variation", "HOME variation", "LOCALE variation",
	"EXEC_PATH variation", "TIMEZONE variation", "UMASK variation",
}

// TestReprotest runs `nixlayer build-image` (a layered zstd image with the
// Nix database, SBOM documents, users, extraCommands and a fakeRootCommands
// script) under Debian's reprotest with its variations, and requires it to
// report no difference. A negative control (created = "now") proves that
// reprotest compares the image.
func TestReprotest(t *testing.T) {
	testutil.RequireTool(t, "reprotest")
	testutil.RequireTool(t, "diffoscope")
	testutil.RequireTool(t, "disorderfs")
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skipf("SKIP: /dev/fuse is missing (%v): disorderfs cannot shuffle directories", err)
	}
	outs := strings.Fields(testutil.NixBuild(t, `[ (nl.closureInfo { rootPaths = [ testPkgs.hello testPkgs.bbBin ]; }) testPkgs.hello testPkgs.bbBin ]`))
	if len(outs) != 3 {
		t.Fatalf("nix-build gave %q", outs)
	}
	info, hello, bb := outs[0], outs[1], outs[2]
	exe := testutil.Exe(t)
	script := "set -e; mkdir -p srv/d; for i in 1 2 3 4 5 6 7 8 9; do echo $i > srv/d/f$i; done; " +
		"chown -R 1000:100 srv; mknod srv/null c 1 3; " +
		`echo "out=${out:-unset}" > srv/out; rm srv/d/f5`
	args := []string{
		exe, "build-image", "--closure", info + "/registration", "--out", "image.tar",
		"--name", "repro", "--tag", "v1", "--layering", "popularity", "--compression", "zstd", "--include-nix-db",
		"--contents", hello, "--contents", bb, "--config", `{"Cmd":["/bin/hello"]}`,
		"--shell", bb + "/bin/sh", "--fake-root-commands", script,
		"--extra-commands", "mkdir -p etc/app; for i in a b c d e f; do echo $i > etc/app/$i; done",
		"--users", `[{"name":"app","uid":1000}]`,
		"--sbom", `[{"name":"vendored","version":"1.0","license":"MIT"}]`,
	}
	// TMPDIR inside the (shuffled, moved) source tree: see reprotestVariations.
	build := "mkdir -p tmp && TMPDIR=$PWD/tmp " + shellJoin(args)

	t.Run("no difference", func(t *testing.T) {
		start := time.Now()
		out, err := runReprotest(t, build, reprotestVariations)
		t.Logf("reprotest took %v", time.Since(start).Round(time.Second))
		if err != nil {
			t.Fatalf("reprotest found a difference or failed: %v\n%s", err, lastLines(out, 60))
		}
		for _, want := range reprotestLogs {
			if !strings.Contains(out, want) {
				t.Errorf("reprotest did not apply %q:\n%s", want, lastLines(out, 40))
			}
		}
	})
	t.Run("negative control: created now", func(t *testing.T) {
		// faketime cannot reach a static binary, so the two builds differ
		// only by the real time between them: each waits over a second
		// first, so their "now" (whole seconds) cannot be the same one
		// however fast the machine is.
		out, err := runReprotest(t, "sleep 1.2; "+build+" --created now", "-all,+time")
		if err == nil {
			t.Fatalf("reprotest found two images made at different times the same:\n%s", lastLines(out, 30))
		}
		if !strings.Contains(out, "image.tar") {
			t.Errorf("reprotest's report does not name the image:\n%s", lastLines(out, 30))
		}
	})
}

// runReprotest runs reprotest of build (a shell command) over an empty
// source tree, comparing image.tar, with the variations given. It returns
// its output; the error is non-nil when reprotest found a difference (or
// failed).
func runReprotest(t *testing.T, build, variations string) (string, error) {
	t.Helper()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "README"), []byte("reprotest source tree of tests/reprotest_test.go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("reprotest", "--verbosity", "1", "--variations="+variations,
		"--store-dir", filepath.Join(t.TempDir(), "store"), "-s", src, build, "image.tar")
	cmd.Dir = src
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// shellJoin quotes args for sh.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
