package tests

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// Root scripts (runAsRoot, fakeRootCommands, enableFakechroot) run by
// package rootscript inside the Nix sandbox: what they make is in the
// image with the owners, devices, links and modes they gave it, and what
// runAsRoot deletes of the base is whited out.

// fakeRootImage makes, under a fake root, a directory owned by 1000:100, a
// device node, a hard link, a FIFO and a file made setuid by a perms rule
// (the Nix sandbox refuses chmod u+s to every build).
const fakeRootImage = `nl.buildLayeredImage {
  name = "rootscript-fakeroot";
  tag = "latest";
  contents = [ testPkgs.bbBin ];
  shell = "${testPkgs.bbBin}/bin/sh";
  fakeRootCommands = ''
    set -e
    mkdir -p home/alice dev srv
    chown 1000:100 home/alice
    mknod dev/null c 1 3
    echo data > srv/a
    ln srv/a srv/b
    mkfifo srv/fifo
    touch srv/suid
    chown -h 0:5 srv/suid
  '';
  perms = [ { path = "/srv/suid"; mode = "4755"; } ];
  config.Cmd = [ "/bin/sh" ];
}`

// topHeaders reads the headers of an image's top layer.
func topHeaders(t *testing.T, archive string) map[string]*tar.Header {
	t.Helper()
	hs := map[string]*tar.Header{}
	walkTop(t, archive, func(h *tar.Header, _ io.Reader) { hs[strings.TrimSuffix(h.Name, "/")] = h })
	return hs
}

func wantHeader(t *testing.T, hs map[string]*tar.Header, name string, typ byte, mode int64, uid, gid int) *tar.Header {
	t.Helper()
	h, ok := hs[name]
	if !ok {
		t.Fatalf("the layer has no %s", name)
	}
	if h.Typeflag != typ || h.Mode != mode || h.Uid != uid || h.Gid != gid {
		t.Errorf("%s: type %q mode %o owner %d:%d, want %q %o %d:%d", name, h.Typeflag, h.Mode, h.Uid, h.Gid, typ, mode, uid, gid)
	}
	return h
}

func TestFakeRootCommands(t *testing.T) {
	out := testutil.NixBuild(t, fakeRootImage)
	hs := topHeaders(t, out)
	wantHeader(t, hs, "home/alice", tar.TypeDir, 0o755, 1000, 100)
	if h := wantHeader(t, hs, "dev/null", tar.TypeChar, 0o644, 0, 0); h.Devmajor != 1 || h.Devminor != 3 {
		t.Errorf("dev/null is %d,%d, want 1,3", h.Devmajor, h.Devminor)
	}
	wantHeader(t, hs, "srv/a", tar.TypeReg, 0o644, 0, 0)
	if h := wantHeader(t, hs, "srv/b", tar.TypeLink, 0o644, 0, 0); h.Linkname != "srv/a" {
		t.Errorf("srv/b links to %q, want srv/a", h.Linkname)
	}
	wantHeader(t, hs, "srv/fifo", tar.TypeFifo, 0o644, 0, 0)
	wantHeader(t, hs, "srv/suid", tar.TypeReg, 0o4755, 0, 5)

	// As umoci unpacks it (as root: owners and devices as they are).
	root := testutil.Unpack(t, out)
	st := func(name string) *syscall.Stat_t {
		var s syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(root, name), &s); err != nil {
			t.Fatalf("umoci's rootfs: %v", err)
		}
		return &s
	}
	if os.Geteuid() == 0 {
		if s := st("home/alice"); s.Uid != 1000 || s.Gid != 100 {
			t.Errorf("umoci: /home/alice is owned by %d:%d, want 1000:100", s.Uid, s.Gid)
		}
		if s := st("dev/null"); s.Mode&syscall.S_IFMT != syscall.S_IFCHR || s.Rdev != 1<<8|3 {
			t.Errorf("umoci: /dev/null has mode %o rdev %x, want a character device 1,3", s.Mode, s.Rdev)
		}
	}
	if a, b := st("srv/a"), st("srv/b"); a.Ino != b.Ino {
		t.Errorf("umoci: srv/a and srv/b are not one file")
	}
	if s := st("srv/suid"); s.Mode&syscall.S_ISUID == 0 {
		t.Errorf("umoci: srv/suid has mode %o, want setuid", s.Mode)
	}

	if testutil.DockerAvailable() {
		ref := testutil.DockerLoad(t, out)
		got := strings.TrimSpace(testutil.Run(t, "", nil, "docker", "run", "--rm", ref, "stat", "-c", "%u:%g %F", "/home/alice", "/dev/null"))
		if want := "1000:100 directory\n0:0 character special file"; got != want {
			t.Errorf("docker: stat says %q, want %q", got, want)
		}
	} else {
		t.Log("no Docker engine answers `docker info`: the image was checked with umoci only")
	}

	// Reproducible: Nix builds it again and compares the bytes.
	if _, errOut, err := testutil.NixBuildErr(t, fakeRootImage, "--check"); err != nil {
		t.Errorf("nix-build --check (a second build, compared byte for byte): %v\n%s", err, errOut)
	}
}

// TestRunAsRootOverBase: runAsRoot sees the base image's files and the
// contents as /; what it deletes is whited out, a directory it replaces
// is opaque, and what it adds has the owner it gave.
func TestRunAsRootOverBase(t *testing.T) {
	expr := `let
  base = nl.buildImage {
    name = "rootscript-base";
    contents = [ testPkgs.bbBin ];
    files."/etc/remove-me" = "x\n";
    files."/var/cache/old/stale" = "y\n";
    files."/etc/motd" = "base\n";
  };
in nl.buildImage {
  name = "rootscript-top";
  tag = "latest";
  fromImage = base;
  shell = "${testPkgs.bbBin}/bin/sh";
  runAsRoot = ''
    set -e
    rm /etc/remove-me
    rm -r /var/cache/old
    mkdir -p /var/cache/old/new /data
    chown 1000:1000 /data
    echo top >> /etc/motd
    test -d /proc/self && test -c /dev/null
  '';
  config.Cmd = [ "/bin/sh" ];
}`
	out := testutil.NixBuild(t, expr)
	hs := topHeaders(t, out)
	for _, w := range []string{"etc/.wh.remove-me", "var/cache/old/.wh..wh..opq"} {
		if _, ok := hs[w]; !ok {
			t.Errorf("the top layer has no whiteout %s", w)
		}
	}
	wantHeader(t, hs, "data", tar.TypeDir, 0o755, 1000, 1000)
	for name := range hs {
		if strings.HasPrefix(name, "bin/") || strings.HasPrefix(name, "proc/") {
			t.Errorf("the top layer holds %s, which the script did not change", name)
		}
	}

	root := testutil.Unpack(t, out)
	for _, gone := range []string{"etc/remove-me", "var/cache/old/stale"} {
		if _, err := os.Lstat(filepath.Join(root, gone)); !os.IsNotExist(err) {
			t.Errorf("umoci: /%s is still there (%v)", gone, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "etc/motd")); err != nil || string(b) != "base\ntop\n" {
		t.Errorf("umoci: /etc/motd = %q (%v), want the base's line and the script's", b, err)
	}
	if fi, err := os.Stat(filepath.Join(root, "var/cache/old/new")); err != nil || !fi.IsDir() {
		t.Errorf("umoci: /var/cache/old/new: %v", err)
	}
	if testutil.DockerAvailable() {
		ref := testutil.DockerLoad(t, out)
		testutil.Run(t, "", nil, "docker", "run", "--rm", ref, "sh", "-c",
			"test ! -e /etc/remove-me && test ! -e /var/cache/old/stale && test -d /var/cache/old/new && test \"$(stat -c %u /data)\" = 1000")
	} else {
		t.Log("no Docker engine answers `docker info`: the image was checked with umoci only")
	}
	if _, errOut, err := testutil.NixBuildErr(t, expr, "--check"); err != nil {
		t.Errorf("nix-build --check (a second build, compared byte for byte): %v\n%s", err, errOut)
	}
}

// TestRootScriptFailures: a bad script fails the build with an error that
// says what went wrong, in the sandbox, and Nix keeps no output.
func TestRootScriptFailures(t *testing.T) {
	cases := []struct {
		name, args string
		want       []string
	}{
		{"exits non-zero", `fakeRootCommands = "echo oops-marker; exit 7";`,
			[]string{"fakeRootCommands exited with status 7", "oops-marker"}},
		{"writes outside the image root", `fakeRootCommands = "echo x > $NIX_BUILD_TOP/escape";`,
			[]string{"Read-only file system", "only the image's root is writable"}},
		{"writes into the store", `enableFakechroot = true; fakeRootCommands = "echo x > ${testPkgs.bbBin}/x";`,
			[]string{"Read-only file system"}},
		{"leaves a process running", `fakeRootCommands = "sleep 300 &";`,
			[]string{"left processes running when it ended, which nixlayer killed"}},
		{"chmod u+s in the sandbox", `fakeRootCommands = "touch x; chmod u+s x";`,
			[]string{"Operation not permitted", "give them with perms"}},
		{"config.User the script did not add", `enableFakechroot = true; fakeRootCommands = "mkdir -p /etc; echo root:x:0:0::/:/bin/sh > /etc/passwd"; config.User = "app";`,
			[]string{`config.User = "app": user "app" is not in the /etc/passwd fakeRootCommands left (its users are root)`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { scriptFails(t, "buildLayeredImage", c.args, c.want) })
	}
}

// scriptFails builds an image with builder and the root-script arguments
// args over busybox, in the sandbox, wants the build to fail saying every
// string of want, and returns what Nix printed.
func scriptFails(t *testing.T, builder, args string, want []string) string {
	t.Helper()
	expr := `nl.` + builder + ` { name = "rootscript-bad"; contents = [ testPkgs.bbBin ]; shell = "${testPkgs.bbBin}/bin/sh"; ` + args + ` }`
	out, errOut, err := testutil.NixBuildErr(t, expr)
	if err == nil {
		t.Fatalf("the build succeeded (%s)", out)
	}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Errorf("the error does not say %q:\n%s", w, lastLines(errOut, 12))
		}
	}
	return errOut
}

// busyboxClosure builds busybox and writes its closure's registration,
// for build-image run from the command line.
func busyboxClosure(t *testing.T) (bb, reg string) {
	t.Helper()
	bb = testutil.NixBuild(t, "testPkgs.bbBin")
	paths := strings.Fields(testutil.Run(t, "", testutil.NixEnv(), "nix-store", "-qR", bb))
	reg = filepath.Join(t.TempDir(), "registration")
	dump := testutil.Run(t, "", testutil.NixEnv(), "nix-store", append([]string{"--dump-db"}, paths...)...)
	if err := os.WriteFile(reg, []byte(dump), 0o644); err != nil {
		t.Fatal(err)
	}
	return bb, reg
}

// TestRootScriptNoUserNamespaces: where the kernel gives the build no user
// namespace, the error says so and what to do instead.
func TestRootScriptNoUserNamespaces(t *testing.T) {
	testutil.RequireTool(t, "unshare")
	bb, reg := busyboxClosure(t)
	out := filepath.Join(t.TempDir(), "img.tar")
	// A user namespace whose own limit of nested ones is 0.
	script := `echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"`
	_, errOut, err := testutil.RunErr("", []string{"NIX_ATTRS_JSON_FILE="}, "unshare", "--user", "--map-root-user", "sh", "-c", script, "sh",
		testutil.Exe(t), "build-image", "--closure", reg, "--out", out, "--name", "nouserns", "--layering", "popularity",
		"--contents", bb, "--shell", bb+"/bin/sh", "--fake-root-commands", "mkdir x")
	if err == nil {
		t.Fatal("the build succeeded without user namespaces")
	}
	for _, w := range []string{"fakeRootCommands", "refuses a user namespace", "user.max_user_namespaces", "declare users, files and perms instead"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("the error does not say %q:\n%s", w, errOut)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("%s exists after the failed build", out)
	}
}

// TestRunAsRootAddsUser: the shadowSetup pattern, what useradd does
// (Debian's static busybox has no adduser: its steps by hand here, chown
// by name reading the image's /etc/passwd) run by runAsRoot, with
// config.User naming the user it made. Built twice, the same bytes.
func TestRunAsRootAddsUser(t *testing.T) {
	expr := `nl.buildImage {
  name = "rootscript-adduser";
  tag = "latest";
  contents = [ testPkgs.bbBin ];
  runAsRoot = ''
    #!${testPkgs.bbBin}/bin/sh
    set -e
    mkdir -p /etc /home
    echo "root:x:0:0::/root:/bin/sh" > /etc/passwd
    echo "root:x:0:" > /etc/group
    echo "app:x:1000:1000::/home/app:/bin/sh" >> /etc/passwd
    echo "app:x:1000:" >> /etc/group
    mkdir -p /home/app
    chown app:app /home/app
  '';
  config = { User = "app"; Cmd = [ "/bin/id" ]; };
}`
	out := testutil.NixBuild(t, expr)
	hs := topHeaders(t, out)
	wantHeader(t, hs, "home/app", tar.TypeDir, 0o755, 1000, 1000)
	root := testutil.Unpack(t, out)
	if b, err := os.ReadFile(filepath.Join(root, "etc/passwd")); err != nil || !strings.Contains(string(b), "app:x:1000:1000") {
		t.Errorf("/etc/passwd = %q (%v), want the user adduser made", b, err)
	}
	if testutil.DockerAvailable() {
		ref := testutil.DockerLoad(t, out)
		if got := strings.TrimSpace(testutil.Run(t, "", nil, "docker", "run", "--rm", ref)); !strings.HasPrefix(got, "uid=1000(app)") {
			t.Errorf("docker: id says %q, want uid=1000(app)", got)
		}
	}
	if _, errOut, err := testutil.NixBuildErr(t, expr, "--check"); err != nil {
		t.Errorf("nix-build --check: %v\n%s", err, errOut)
	}
}

// TestExampleAppImage builds examples/default.nix's app-image, the README's
// root-script example, and checks what its script made.
func TestExampleAppImage(t *testing.T) {
	testutil.RequireTool(t, "nix-build")
	out := strings.TrimSpace(testutil.Run(t, testutil.RepoRoot(t), testutil.NixEnv(), "nix-build", "examples",
		"--arg", "nixlayer", "builtins.path { path = "+testutil.Binary(t)+"; name = \"nixlayer\"; }", "-A", "app-image", "--no-out-link"))
	hs := topHeaders(t, out)
	wantHeader(t, hs, "data", tar.TypeDir, 0o755, 1000, 1000)
	if h := wantHeader(t, hs, "dev/console", tar.TypeChar, 0o600, 0, 0); h.Devmajor != 5 || h.Devminor != 1 {
		t.Errorf("dev/console is %d,%d, want 5,1", h.Devmajor, h.Devminor)
	}
	if _, ok := hs["dev/null"]; ok {
		t.Error("the build's /dev/null, bound for the script, is in the layer")
	}
	if testutil.DockerAvailable() {
		ref := testutil.DockerLoad(t, out)
		if got := strings.TrimSpace(testutil.Run(t, "", nil, "docker", "run", "--rm", ref, "sh", "-c", "id -un; pwd; hello")); got != "app\n/data\nHello from nixlayer" {
			t.Errorf("docker run: %q", got)
		}
	}
}
