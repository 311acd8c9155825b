package tests

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestFromNixlayerImage builds an image on a base nixlayer made: the base's
// layers are carried over with the same digests and count toward
// maxLayers, store paths the base has are not shipped again, Env is merged
// by name, history keeps the base's entries, the Nix DB registers the
// base's paths (twins, which only the base has) and ours, and programs of
// both run.
func TestFromNixlayerImage(t *testing.T) {
	out := testutil.NixBuild(t, `let
	  base = nl.buildLayeredImageWithNixDb { name = "base"; tag = "v1"; contents = [ testPkgs.bbBin testPkgs.twins ];
	    config = { Cmd = [ "/bin/sh" ]; Env = [ "A=1" "B=2" ]; WorkingDir = "/"; }; };
	  top = nl.buildLayeredImage { name = "top"; tag = "v1"; fromImage = base; includeNixDB = true; maxLayers = 9;
	    contents = [ testPkgs.hello ]; config = { Cmd = [ "/bin/hello" ]; Env = [ "B=3" "C=4" ]; }; };
	in [ base top testPkgs.hello testPkgs.twins ]`)
	paths := strings.Fields(out)
	if len(paths) != 4 {
		t.Fatalf("nix-build printed %q", out)
	}
	baseArchive, topArchive, hello, twins := paths[0], paths[1], paths[2], paths[3]
	baseImg, err := tarball.ImageFromPath(baseArchive, nil)
	if err != nil {
		t.Fatal(err)
	}
	topImg, err := tarball.ImageFromPath(topArchive, nil)
	if err != nil {
		t.Fatal(err)
	}
	baseLayers, _ := baseImg.Layers()
	topLayers, _ := topImg.Layers()
	if len(topLayers) <= len(baseLayers) || len(topLayers) > 9 {
		t.Fatalf("top has %d layers, base %d, maxLayers 9", len(topLayers), len(baseLayers))
	}
	for i, l := range baseLayers {
		bd, _ := l.Digest()
		td, _ := topLayers[i].Digest()
		if bd != td {
			t.Errorf("layer %d: base %s, top %s: base layers must be carried over verbatim", i, bd, td)
		}
	}
	cf, err := topImg.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cf.Config.Env, " "); got != "A=1 B=3 C=4" {
		t.Errorf("Env = %q, want the base's merged with ours by name: A=1 B=3 C=4", got)
	}
	if cf.Config.WorkingDir != "/" || strings.Join(cf.Config.Cmd, " ") != "/bin/hello" {
		t.Errorf("WorkingDir %q (want the base's /), Cmd %q (want ours)", cf.Config.WorkingDir, cf.Config.Cmd)
	}
	bcf, _ := baseImg.ConfigFile()
	if len(cf.History) != len(topLayers) || cf.History[0] != bcf.History[0] {
		t.Errorf("history has %d entries for %d layers, first %+v; want the base's first", len(cf.History), len(topLayers), cf.History[0])
	}
	for _, h := range cf.History[len(baseLayers):] {
		if strings.Contains(h.Comment, "busybox") {
			t.Errorf("a layer of ours holds a store path the base has: %q", h.Comment)
		}
	}

	rootfs := testutil.Unpack(t, topArchive)
	if got := testutil.Run(t, "", nil, "chroot", rootfs, "/bin/hello"); got != "Hello from nixlayer\n" {
		t.Errorf("our /bin/hello printed %q", got)
	}
	if got := testutil.Run(t, "", nil, "chroot", rootfs, "/bin/echo", "from base"); got != "from base\n" {
		t.Errorf("the base's /bin/echo printed %q", got)
	}
	if stderr, err := verifyStore(rootfs); err != nil {
		t.Errorf("nix-store --verify in the image: %v\n%s", err, stderr)
	}
	reqs := lines(nixStore(t, rootfs, "-q", "--requisites", hello))
	if len(reqs) != 3 {
		t.Errorf("requisites of hello in the image's DB: %v", reqs)
	}
	if got := lines(nixStore(t, rootfs, "-q", "--requisites", twins)); len(got) != 1 || got[0] != twins {
		t.Errorf("the base's %s is not registered in the merged DB: %v", twins, got)
	}
	assertExportMatchesUmoci(t, topArchive)
}

// TestFromForeignImage builds on an image made by umoci and skopeo whose
// /bin is a symlink to usr/bin: our /bin/hello lands in /usr/bin, /bin stays
// a symlink, the base's files stay, both run, and config.User is checked
// against the base's /etc/passwd.
func TestFromForeignImage(t *testing.T) {
	base := umociImage(t)
	expr := `nl.buildLayeredImage { name = "onforeign"; tag = "v1"; fromImage = ` + base + `; contents = [ testPkgs.hello ]; config = { Cmd = [ "/bin/hello" ]; User = "root"; }; }`
	for _, stream := range []bool{false, true} {
		name := map[bool]string{false: "archive", true: "stream"}[stream]
		t.Run(name, func(t *testing.T) {
			e := expr
			if stream {
				e = strings.Replace(expr, "buildLayeredImage", "streamLayeredImage", 1)
			}
			archive := testutil.NixBuild(t, e)
			if stream {
				file := filepath.Join(t.TempDir(), "img.tar")
				testutil.Run(t, "", nil, archive, "-o", file)
				archive = file
			}
			rootfs := testutil.Unpack(t, archive)
			if target, err := os.Readlink(filepath.Join(rootfs, "bin")); err != nil || target != "usr/bin" {
				t.Fatalf("/bin -> %q (%v): the base's symlink must stay", target, err)
			}
			for _, f := range []string{"usr/bin/hello", "usr/bin/busybox", "etc/passwd"} {
				if _, err := os.Lstat(filepath.Join(rootfs, f)); err != nil {
					t.Errorf("/%s: %v", f, err)
				}
			}
			if _, err := os.Lstat(filepath.Join(rootfs, "etc/motd")); !os.IsNotExist(err) {
				t.Errorf("/etc/motd, whited out in the base, exists: %v", err)
			}
			if got := testutil.Run(t, "", nil, "chroot", rootfs, "/bin/hello"); got != "Hello from nixlayer\n" {
				t.Errorf("/bin/hello printed %q", got)
			}
			if got := testutil.Run(t, "", nil, "chroot", rootfs, "/bin/sh", "-c", "echo base shell"); got != "base shell\n" {
				t.Errorf("the base's /bin/sh printed %q", got)
			}
			if testutil.DockerAvailable() {
				testutil.Run(t, "", nil, "sh", "-c", "docker load < "+archive)
				got := testutil.Run(t, "", nil, "docker", "run", "--rm", "onforeign:v1")
				testutil.RunErr("", nil, "docker", "rmi", "onforeign:v1")
				if got != "Hello from nixlayer\n" {
					t.Errorf("docker run printed %q", got)
				}
			} else {
				t.Log("no Docker engine answers `docker info`: docker run not checked")
			}
		})
	}
}

// TestFromImageOwners checks that a store path counts as already in the
// base only when the base has it with the owner our layers would give it:
// busybox's applets, root-owned in the base, are shipped again for uid
// 1000, and when the base already has them as uid 1000 they are not.
func TestFromImageOwners(t *testing.T) {
	out := testutil.NixBuild(t, `let
	  rootBase = nl.buildLayeredImage { name = "owners-root"; tag = "v1"; contents = [ testPkgs.bbBin ]; };
	  appBase = nl.buildLayeredImage { name = "owners-app"; tag = "v1"; contents = [ testPkgs.bbBin ]; uid = 1000; gid = 1000; };
	  top = base: nl.buildLayeredImage { name = "owners-top"; tag = "v1"; fromImage = base; contents = [ testPkgs.bbBin ]; uid = 1000; gid = 1000; };
	in [ (top rootBase) (top appBase) testPkgs.bbBin ]`)
	paths := strings.Fields(out)
	if len(paths) != 3 {
		t.Fatalf("nix-build printed %q", out)
	}
	bbBin := paths[2]
	for _, c := range []struct {
		name, archive string
		shipped       bool
	}{{"root-owned base", paths[0], true}, {"base owned by uid 1000", paths[1], false}} {
		t.Run(c.name, func(t *testing.T) {
			img, err := tarball.ImageFromPath(c.archive, nil)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			// The base's layer of bbBin comes first; a second one is ours.
			layersOf := 0
			for _, h := range cf.History {
				if strings.Contains(h.Comment, "store paths:") && strings.Contains(h.Comment, bbBin) {
					layersOf++
				}
			}
			shipped := layersOf > 1
			if shipped != c.shipped {
				t.Errorf("a layer of ours ships %s: %v, want %v (history %+v)", bbBin, shipped, c.shipped, cf.History)
			}
			rootfs := testutil.Unpack(t, c.archive)
			fi, err := os.Lstat(filepath.Join(rootfs, bbBin[1:], "bin", "sh"))
			if err != nil {
				t.Fatal(err)
			}
			if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1000 || st.Gid != 1000 {
				t.Errorf("%s/bin/sh in the image is owned by %d:%d, want 1000:1000", bbBin, st.Uid, st.Gid)
			}
		})
	}
}
