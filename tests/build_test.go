package tests

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// helloImageExpr is the image every end-to-end subtest of TestBuildImage
// looks at: built once per test process.
const helloImageExpr = `nl.buildImage {
  name = "hello";
  tag = "v1";
  contents = [ testPkgs.hello testPkgs.bbBin ];
  config.Cmd = [ "/bin/hello" ];
}`

var (
	helloOnce  sync.Once
	helloBuilt struct {
		image, hello, bbBin, bbDir string
		err                        string
	}
)

// helloImage builds helloImageExpr (once) and returns the image path and
// the store paths of hello, bbBin and bbDir (Debian's busybox in the store).
func helloImage(t *testing.T) (image, hello, bbBin, bbDir string) {
	t.Helper()
	helloOnce.Do(func() {
		out, errOut, err := testutil.NixBuildErr(t, "[ ("+helloImageExpr+") testPkgs.hello testPkgs.bbBin ]")
		paths := strings.Fields(out)
		if err != nil || len(paths) != 3 {
			helloBuilt.err = "nix-build of the hello image: " + errOut
			return
		}
		helloBuilt.image, helloBuilt.hello, helloBuilt.bbBin = paths[0], paths[1], paths[2]
		// bbDir is a path, not a derivation: find it through bbBin's links.
		busybox, err := os.Readlink(filepath.Join(helloBuilt.bbBin, "bin", "sh"))
		if err != nil {
			helloBuilt.err = err.Error()
			return
		}
		helloBuilt.bbDir = filepath.Dir(busybox)
	})
	if helloBuilt.err != "" {
		t.Fatal(helloBuilt.err)
	}
	return helloBuilt.image, helloBuilt.hello, helloBuilt.bbBin, helloBuilt.bbDir
}

// archiveMember returns one file of a tar archive.
func archiveMember(t *testing.T, archive, member string) []byte {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s has no %s: %v", archive, member, err)
		}
		if h.Name == member {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
}

// dockerManifest is manifest.json of a docker-archive.
type dockerManifest []struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func TestBuildImage(t *testing.T) {
	img, hello, bbBin, bbDir := helloImage(t)
	var manifest dockerManifest
	if err := json.Unmarshal(archiveMember(t, img, "manifest.json"), &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json of %s: %v (%d images)", img, err, len(manifest))
	}
	// The config file is named by its digest: "<hex>.json" (package format).
	imageID := strings.TrimSuffix(manifest[0].Config, ".json")

	t.Run("output", func(t *testing.T) {
		if !strings.HasSuffix(img, "-docker-image-hello.tar") {
			t.Errorf("output %s, want a docker-image-hello.tar (an uncompressed archive of compressed layers)", img)
		}
		if got := manifest[0].RepoTags; len(got) != 1 || got[0] != "hello:v1" {
			t.Errorf("RepoTags %q, want [hello:v1]", got)
		}
		if len(manifest[0].Layers) != 1 {
			t.Errorf("%d layers, want 1 (buildImage makes one)", len(manifest[0].Layers))
		}
	})

	t.Run("skopeo inspect", func(t *testing.T) {
		testutil.RequireTool(t, "skopeo")
		var info struct {
			Architecture, Os string
			Layers           []string
			Created          time.Time
		}
		// The :hello:v1 suffix makes skopeo look the image up by its tag.
		out := testutil.Run(t, "", nil, "skopeo", "inspect", "docker-archive:"+img+":hello:v1")
		if err := json.Unmarshal([]byte(out), &info); err != nil {
			t.Fatalf("skopeo inspect: %v\n%s", err, out)
		}
		if info.Architecture != "amd64" || info.Os != "linux" || len(info.Layers) != 1 || !info.Created.Equal(time.Unix(1, 0)) {
			t.Errorf("skopeo inspect: %+v; want amd64/linux, 1 layer, created 1970-01-01T00:00:01Z", info)
		}
		var cfg struct {
			Config struct{ Cmd []string }
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
			History []json.RawMessage
		}
		out = testutil.Run(t, "", nil, "skopeo", "inspect", "--config", "docker-archive:"+img)
		if err := json.Unmarshal([]byte(out), &cfg); err != nil {
			t.Fatalf("skopeo inspect --config: %v\n%s", err, out)
		}
		if len(cfg.Config.Cmd) != 1 || cfg.Config.Cmd[0] != "/bin/hello" || len(cfg.RootFS.DiffIDs) != 1 || len(cfg.History) != 1 {
			t.Errorf("config %s", out)
		}
		if _, errOut, err := testutil.RunErr("", nil, "skopeo", "inspect", "docker-archive:"+img+":hello:v2"); err == nil {
			t.Errorf("skopeo found hello:v2 in the archive")
		} else if !strings.Contains(errOut, "hello:v2") {
			t.Errorf("skopeo's error for a missing tag: %s", errOut)
		}
	})

	t.Run("umoci unpack", func(t *testing.T) {
		testutil.RequireTool(t, "skopeo")
		testutil.RequireTool(t, "umoci")
		dir := t.TempDir()
		oci, bundle := filepath.Join(dir, "oci"), filepath.Join(dir, "bundle")
		testutil.Run(t, "", nil, "skopeo", "copy", "docker-archive:"+img, "oci:"+oci+":v1")
		testutil.Run(t, "", nil, "umoci", "unpack", "--image", oci+":v1", bundle)
		rootfs := filepath.Join(bundle, "rootfs")
		type want struct {
			path string
			mode os.FileMode
			link string
		}
		busybox := filepath.Join(bbDir, "busybox")
		for _, w := range []want{
			{path: "/nix", mode: os.ModeDir | 0o755},
			{path: "/nix/store", mode: os.ModeDir | 0o755},
			{path: "/bin", mode: os.ModeDir | 0o555},
			{path: "/bin/hello", mode: 0o555},
			{path: "/bin/sh", mode: os.ModeSymlink | 0o777, link: busybox},
			{path: "/share/hello/data.txt", mode: 0o444},
			{path: "/share/hello/empty", mode: 0o444},
			{path: "/share/hello/emptydir", mode: os.ModeDir | 0o555},
			{path: hello, mode: os.ModeDir | 0o555},
			{path: hello + "/bin/hello", mode: 0o555},
			{path: bbBin + "/bin/sh", mode: os.ModeSymlink | 0o777, link: busybox},
			{path: busybox, mode: 0o555},
		} {
			p := filepath.Join(rootfs, w.path)
			fi, err := os.Lstat(p)
			if err != nil {
				t.Errorf("unpacked image: %v", err)
				continue
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode() != w.mode || st.Uid != 0 || st.Gid != 0 || fi.ModTime().Unix() != 1 {
				t.Errorf("%s: mode %v owner %d:%d mtime %d; want %v, 0:0, 1", w.path, fi.Mode(), st.Uid, st.Gid, fi.ModTime().Unix(), w.mode)
			}
			if w.link != "" {
				if target, _ := os.Readlink(p); target != w.link {
					t.Errorf("%s -> %s, want -> %s", w.path, target, w.link)
				}
			}
		}
		for _, pair := range [][2]string{{"/bin/hello", hello + "/bin/hello"}, {busybox, busybox}} {
			got, err1 := os.ReadFile(filepath.Join(rootfs, pair[0]))
			want, err2 := os.ReadFile(pair[1])
			if err1 != nil || err2 != nil || !bytes.Equal(got, want) {
				t.Errorf("%s in the image differs from %s on the host (%v, %v)", pair[0], pair[1], err1, err2)
			}
		}

		t.Run("chroot", func(t *testing.T) {
			out := testutil.Run(t, "", nil, "chroot", rootfs, "/bin/hello")
			if out != "Hello from nixlayer\n" {
				t.Errorf("chroot /bin/hello printed %q", out)
			}
		})
	})

	t.Run("docker", func(t *testing.T) {
		if !testutil.DockerAvailable() {
			t.Skip("SKIP: no Docker engine answers `docker info`; docker load/run not tested")
		}
		t.Cleanup(func() { testutil.RunErr("", nil, "docker", "rmi", "hello:v1") })
		out := testutil.Run(t, "", nil, "docker", "load", "-i", img)
		if !strings.Contains(out, "Loaded image: hello:v1") {
			t.Errorf("docker load printed %q", out)
		}
		// By ID, so that another hello:v1 loaded meanwhile cannot be run.
		out = testutil.Run(t, "", nil, "docker", "run", "--rm", "--network", "none", "sha256:"+imageID)
		if out != "Hello from nixlayer\n" {
			t.Errorf("docker run printed %q", out)
		}
	})

	t.Run("podman load", func(t *testing.T) {
		testutil.RequireTool(t, "podman")
		t.Cleanup(func() { testutil.RunErr("", nil, "podman", "rmi", "localhost/hello:v1") })
		out := testutil.Run(t, "", nil, "podman", "load", "-i", img)
		if !strings.Contains(out, "localhost/hello:v1") {
			t.Errorf("podman load printed %q", out)
		}
		var info []struct {
			ID           string `json:"Id"`
			Architecture string
			Config       struct{ Cmd []string }
		}
		out = testutil.Run(t, "", nil, "podman", "image", "inspect", "localhost/hello:v1")
		if err := json.Unmarshal([]byte(out), &info); err != nil || len(info) != 1 {
			t.Fatalf("podman image inspect: %v\n%s", err, out)
		}
		if info[0].ID != imageID || info[0].Architecture != "amd64" || len(info[0].Config.Cmd) != 1 {
			t.Errorf("podman image inspect: %+v; want ID %s, amd64, Cmd [/bin/hello]", info[0], imageID)
		}
	})

	t.Run("nix-build --check", func(t *testing.T) {
		// Nix builds the image again and compares the bytes with the output
		// in the store.
		if out := testutil.NixBuild(t, helloImageExpr, "--check"); out != img {
			t.Errorf("nix-build --check gave %s, want %s", out, img)
		}
	})
}

// TestBuildImageHardLinks: the image of a store path whose two identical
// files are copies is byte for byte the image of the same path after the
// files were hard-linked (as nix-store --optimise does).
func TestBuildImageHardLinks(t *testing.T) {
	// No provenance: it records the arguments, which the command line
	// and Nix give differently (function, system, tag).
	const expr = `nl.buildImage { name = "twins"; contents = [ testPkgs.twins ]; config.Cmd = [ "/bin/sh" ]; provenance = false; }`
	twins := testutil.NixBuild(t, "testPkgs.twins")
	dir := filepath.Join(twins, "share", "twins")
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")

	// The store is root-writable on the test machines; put the directory
	// back as Nix leaves it (read-only, mtime 1) after each change.
	relink := func(link bool) {
		t.Helper()
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		defer func() {
			os.Chmod(dir, 0o555)
			os.Chtimes(dir, time.Unix(1, 0), time.Unix(1, 0))
		}()
		tmp := b + ".tmp"
		if link {
			if err := os.Link(a, tmp); err != nil {
				t.Fatal(err)
			}
		} else {
			data, err := os.ReadFile(a)
			if err == nil {
				err = os.WriteFile(tmp, data, 0o444)
			}
			if err == nil {
				err = os.Chtimes(tmp, time.Unix(1, 0), time.Unix(1, 0))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Rename(tmp, b); err != nil {
			t.Fatal(err)
		}
	}
	links := func() uint64 {
		t.Helper()
		fi, err := os.Stat(a)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Nlink
	}

	if links() != 1 { // a run that stopped half-way left them linked
		relink(false)
	}
	img := testutil.NixBuild(t, expr)
	before, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	testutil.NixBuild(t, expr, "--check") // copies: same bytes as the stored output

	relink(true)
	t.Cleanup(func() { relink(false) })
	if n := links(); n != 2 {
		t.Fatalf("%s has %d links after linking, want 2", a, n)
	}
	if _, errOut, err := testutil.NixBuildErr(t, expr, "--check"); err != nil {
		t.Fatalf("nix-build --check with hard-linked files: %v\n%s", err, errOut)
	}

	// The same through the binary directly, compared byte for byte.
	closure := filepath.Join(t.TempDir(), "closure")
	if err := os.WriteFile(closure, []byte(twins+"\n\n0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "twins.tar.gz")
	// Nix's default tag is the output hash; a tag given here would be the
	// version annotation, which the default tag never is.
	testutil.Run(t, "", []string{"SOURCE_DATE_EPOCH="}, testutil.Exe(t), "build-image", "--closure", closure, "--out", out,
		"--name", "twins", "--tag", filepath.Base(img)[:32], "--contents", twins, "--config", `{"Cmd":["/bin/sh"]}`, "--provenance=false",
		"--annotations", `{"org.opencontainers.image.version":null}`)
	direct, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(direct, before) {
		t.Errorf("the image built with hard links (%d bytes) differs from the one built with copies (%d bytes)", len(direct), len(before))
	}
}
