package tests

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// usersImageArgs declares a user app (uid 1000) whose home is its own, a
// setuid program in a store-path layer (by a perms rule), /tmp 1777, and a
// directory made by extraCommands and given to app by a regex rule.
const usersImageArgs = `{
  name = "users-test";
  contents = [ testPkgs.bbBin testPkgs.hello ];
  users = [ { name = "app"; uid = 1000; description = "the app"; groups = [ "staff" ]; } ];
  groups = [ { name = "staff"; gid = 50; } ];
  directories = [ { path = "/tmp"; mode = "1777"; } "/var/lib/app" ];
  files."/etc/motd" = "hello\n";
  symlinks."/usr/bin/env" = "${testPkgs.bbBin}/bin/env";
  extraCommands = "mkdir -p var/cache/app && echo made > var/cache/app/stamp";
  shell = "${testPkgs.bbBin}/bin/sh";
  perms = [
    { path = "${testPkgs.hello}/bin/hello"; mode = "4555"; }
    { path = "/var/lib/app"; uid = 1000; gid = 1000; mode = "0700"; }
    { path = "/var/cache/app"; regex = ".*"; uname = "app"; gname = "app"; }
    { path = "/home/app"; mode = "0750"; }
    { path = "/var/lib/app"; mode = "0770"; gname = "staff"; }
  ];
  config = { User = "app"; Cmd = [ "/bin/id" "-un" ]; WorkingDir = "/srv/work"; };
}`

// header is the part of a tar header the tests look at.
type header struct {
	typ          byte
	mode         int64
	uid, gid     int
	uname, gname string
}

func (h header) String() string {
	return fmt.Sprintf("%c %o %d:%d %s:%s", h.typ, h.mode, h.uid, h.gid, h.uname, h.gname)
}

// layerHeaders reads every layer of a docker-archive (with
// go-containerregistry's tarball package and archive/tar) and returns the
// headers by path (a later layer wins), the contents of the files in /etc,
// and the number of layers.
func layerHeaders(t *testing.T, archive string) (map[string]header, map[string]string, int) {
	t.Helper()
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	heads, data := map[string]header{}, map[string]string{}
	for i, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("layer %d: %v", i+1, err)
			}
			name := strings.TrimSuffix(h.Name, "/")
			heads[name] = header{h.Typeflag, h.Mode, h.Uid, h.Gid, h.Uname, h.Gname}
			if h.Typeflag == tar.TypeReg && strings.HasPrefix(name, "etc/") {
				b, _ := io.ReadAll(tr)
				data[name] = string(b)
			}
		}
		rc.Close()
	}
	return heads, data, len(ls)
}

// wantHeaders are the entries usersImageArgs decides.
func wantHeaders(hello string) map[string]header {
	return map[string]header{
		"home/app":                          {tar.TypeDir, 0o750, 1000, 1000, "app", "app"},
		"tmp":                               {tar.TypeDir, 0o1777, 0, 0, "root", "root"},
		"var/lib/app":                       {tar.TypeDir, 0o770, 1000, 50, "app", "staff"},
		"var/cache/app":                     {tar.TypeDir, 0o755, 1000, 1000, "app", "app"},
		"var/cache/app/stamp":               {tar.TypeReg, 0o644, 1000, 1000, "app", "app"},
		"var/cache":                         {tar.TypeDir, 0o755, 0, 0, "root", "root"},
		"srv/work":                          {tar.TypeDir, 0o755, 0, 0, "root", "root"},
		"etc/passwd":                        {tar.TypeReg, 0o644, 0, 0, "root", "root"},
		"etc/shadow":                        {tar.TypeReg, 0o600, 0, 0, "root", "root"},
		"nix/store/" + hello + "/bin/hello": {tar.TypeReg, 0o4555, 0, 0, "root", "root"},
		"nix/store/" + hello + "/bin":       {tar.TypeDir, 0o555, 0, 0, "root", "root"},
	}
}

func checkHeaders(t *testing.T, what string, got map[string]header, want map[string]header) {
	t.Helper()
	for name, w := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("%s: /%s missing", what, name)
		} else if g != w {
			t.Errorf("%s: /%s = %v, want %v", what, name, g, w)
		}
	}
}

func TestUsersAndPerms(t *testing.T) {
	image := testutil.NixBuild(t, "nl.buildLayeredImage "+usersImageArgs)
	hello := filepath.Base(testutil.NixBuild(t, "testPkgs.hello"))

	t.Run("tar headers", func(t *testing.T) {
		heads, data, n := layerHeaders(t, image)
		checkHeaders(t, "layers", heads, wantHeaders(hello))
		for file, want := range map[string]string{
			"etc/passwd":  "root:x:0:0:root user:/var/empty:/bin/sh\napp:x:1000:1000:the app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/var/empty:/bin/sh\n",
			"etc/group":   "root:x:0:\nstaff:x:50:app\napp:x:1000:\nnobody:x:65534:\n",
			"etc/shadow":  "root:!:::::::\napp:!:::::::\nnobody:!:::::::\n",
			"etc/gshadow": "root:!::\nstaff:!::app\napp:!::\nnobody:!::\n",
			"etc/motd":    "hello\n",
		} {
			if data[file] != want {
				t.Errorf("/%s = %q, want %q", file, data[file], want)
			}
		}
		if n < 2 {
			t.Errorf("%d layers: the rules were meant to reach store-path layers and the customisation layer", n)
		}
	})

	t.Run("umoci unpack and chroot", func(t *testing.T) {
		testutil.RequireTool(t, "skopeo")
		testutil.RequireTool(t, "umoci")
		chroot := testutil.RequireTool(t, "chroot")
		if os.Geteuid() != 0 {
			t.Fatal("the tests run as root, as CI does: umoci unpack keeps owners and chroot works only as root")
		}
		d := t.TempDir()
		layout := filepath.Join(d, "oci")
		testutil.Run(t, d, nil, "skopeo", "copy", "docker-archive:"+image, "oci:"+layout+":users")
		bundle := filepath.Join(d, "bundle")
		testutil.Run(t, d, nil, "umoci", "unpack", "--image", layout+":users", bundle)
		root := filepath.Join(bundle, "rootfs")
		for name, w := range wantHeaders(hello) {
			fi, err := os.Lstat(filepath.Join(root, name))
			if err != nil {
				t.Errorf("unpacked: %v", err)
				continue
			}
			st := fi.Sys().(*syscall.Stat_t)
			mode := int64(fi.Mode().Perm())
			for bit, m := range map[fs.FileMode]int64{fs.ModeSetuid: 0o4000, fs.ModeSetgid: 0o2000, fs.ModeSticky: 0o1000} {
				if fi.Mode()&bit != 0 {
					mode |= m
				}
			}
			if mode != w.mode || int(st.Uid) != w.uid || int(st.Gid) != w.gid {
				t.Errorf("unpacked /%s: mode %o owner %d:%d, want %o %d:%d", name, mode, st.Uid, st.Gid, w.mode, w.uid, w.gid)
			}
		}
		id := testutil.Run(t, d, nil, chroot, "--userspec=1000:1000", root, "/bin/id")
		if !strings.HasPrefix(id, "uid=1000(app) gid=1000(app)") {
			t.Errorf("id in the chroot = %q, want uid=1000(app) gid=1000(app)", id)
		}
		if who := strings.TrimSpace(testutil.Run(t, d, nil, chroot, "--userspec=1000:1000", root, "/bin/whoami")); who != "app" {
			t.Errorf("whoami in the chroot = %q, want app", who)
		}
		// The home is app's: app can write there, and nobody else can read it.
		testutil.Run(t, d, nil, chroot, "--userspec=1000:1000", root, "/bin/sh", "-c", "echo x > /home/app/f && echo y > /var/lib/app/g")
		if _, _, err := testutil.RunErr(d, nil, chroot, "--userspec=65534:65534", root, "/bin/ls", "/home/app"); err == nil {
			t.Error("nobody could list /home/app (mode 0750, app:app)")
		}
	})

	t.Run("docker run", func(t *testing.T) {
		if !testutil.DockerAvailable() {
			t.Skip("SKIP: no Docker engine answers `docker info`")
		}
		ref := testutil.DockerLoad(t, image)
		if got := strings.TrimSpace(testutil.Run(t, "", nil, "docker", "run", "--rm", ref)); got != "app" {
			t.Errorf("docker run %s (Cmd id -un) = %q, want app", ref, got)
		}
		if got := strings.TrimSpace(testutil.Run(t, "", nil, "docker", "run", "--rm", ref, "pwd")); got != "/srv/work" {
			t.Errorf("docker run pwd = %q, want /srv/work", got)
		}
	})

	t.Run("reproducible", func(t *testing.T) {
		// nix-build --check builds the image again and fails unless the
		// output is byte-identical.
		if again := testutil.NixBuild(t, "nl.buildLayeredImage "+usersImageArgs, "--check"); again != image {
			t.Errorf("--check gave %s, want %s", again, image)
		}
		single := testutil.NixBuild(t, "nl.buildImage "+usersImageArgs)
		testutil.NixBuild(t, "nl.buildImage "+usersImageArgs, "--check")
		heads, _, _ := layerHeaders(t, single)
		checkHeaders(t, "buildImage", heads, wantHeaders(hello))
	})

	t.Run("stream", func(t *testing.T) {
		// A stream script rebuilds every layer when it runs: the rules
		// travel with the layers' recipes.
		script := testutil.NixBuild(t, "nl.streamLayeredImage "+usersImageArgs)
		out := filepath.Join(t.TempDir(), "streamed.tar")
		testutil.Run(t, "", nil, testutil.Exe(t), "stream", "-o", out, script)
		heads, _, _ := layerHeaders(t, out)
		checkHeaders(t, "streamed", heads, wantHeaders(hello))
	})
}

func TestUsersBadInputNix(t *testing.T) {
	for _, c := range []struct {
		name, expr, want string
	}{
		{"extraCommands without a shell", `nl.buildImage { name = "x"; extraCommands = "true"; }`,
			"extraCommands needs a shell to run it"},
		{"undefined config.User", `nl.buildImage { name = "x"; users = [ { name = "app"; uid = 1000; } ]; config.User = "ghost"; }`,
			`config.User = "ghost": user "ghost" is not defined in the image (its users are root, app, nobody)`},
		{"extraCommands fails", `nl.buildImage { name = "x"; shell = "${testPkgs.bbBin}/bin/sh"; extraCommands = "echo oops; exit 7"; }`,
			"exit status 7; its output:\noops"},
		{"rule matches nothing", `nl.buildLayeredImage { name = "x"; contents = [ testPkgs.hello ]; perms = [ { path = "${testPkgs.hello}/bin/nope"; mode = "4755"; } ]; }`,
			`/bin/nope"; mode = "4755"; } matches nothing in the image`},
		{"duplicate uid", `nl.buildImage { name = "x"; users = [ { name = "a"; uid = 7; } { name = "b"; uid = 7; } ]; }`,
			`users[1] (b): uid 7 is already the uid of user "a"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, err := testutil.NixBuildErr(t, c.expr)
			if err == nil {
				t.Fatalf("built %s", out)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr:\n%s\nwant it to contain:\n%s", stderr, c.want)
			}
		})
	}
}
