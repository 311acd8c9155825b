package tests

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
)

// copyToExpr builds an image and a stream script (sandbox on) and the apps
// copyTo and copyToPodman of the image, then copyTo of the stream.
const copyToExpr = `let
  c = [ testPkgs.hello testPkgs.bbBin ]; cfg.Cmd = [ "/bin/hello" ];
  img = nl.buildLayeredImage { name = "copyto-img"; tag = "v1"; contents = c; config = cfg; };
  stream = nl.streamLayeredImage { name = "copyto-stream"; tag = "v1"; contents = c; config = cfg; };
in [ img stream (nl.copyTo img) (nl.copyToPodman img) (nl.copyTo { image = stream; name = "copy-stream"; }) ]`

// copyToBuilds are the outputs of copyToExpr.
type copyToBuilds struct{ img, stream, copyTo, copyToPodman, copyStream string }

func buildCopyTo(t *testing.T) copyToBuilds {
	t.Helper()
	out := strings.Fields(testutil.NixBuild(t, copyToExpr))
	if len(out) != 5 {
		t.Fatalf("nix-build printed %q", out)
	}
	return copyToBuilds{out[0], out[1], filepath.Join(out[2], "bin", "copy-to"), filepath.Join(out[3], "bin", "copy-to-podman"), filepath.Join(out[4], "bin", "copy-stream")}
}

// configDigest is the config digest (image ID) of a docker-archive.
func configDigest(t *testing.T, archive string) string {
	t.Helper()
	m, _ := testutil.DockerArchive(t, archive)
	return "sha256:" + strings.TrimSuffix(m[0].Config, ".json")
}

// marker is an environment variable that every process a command starts
// inherits, so that those left running can be found (leftovers).
func marker(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "NIXLAYER_TEST_MARK=" + hex.EncodeToString(b)
}

// leftovers lists the processes whose environment holds mark.
func leftovers(t *testing.T, mark string) []string {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var left []string
	for _, d := range dirs {
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !bytes.Contains(env, []byte(mark+"\x00")) {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		left = append(left, filepath.Base(d)+": "+strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return left
}

// runMarked runs a command with env and a marker, and fails the test when
// a process it started is still there after it returned.
func runMarked(t *testing.T, env []string, name string, args ...string) (string, string, error) {
	t.Helper()
	mark := marker(t)
	out, errOut, err := testutil.RunErr("", append(env, mark), name, args...)
	if left := leftovers(t, mark); len(left) > 0 {
		t.Errorf("%s %s left processes running: %v", name, strings.Join(args, " "), left)
	}
	return out, errOut, err
}

// podmanStore makes a podman store of the test's own and returns the
// environment that points podman (and nixlayer's podman load) at it.
func podmanStore(t *testing.T) []string {
	t.Helper()
	testutil.RequireTool(t, "podman")
	dir, err := os.MkdirTemp("", "podman-")
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "storage.conf")
	err = os.WriteFile(conf, []byte("[storage]\ndriver = \"vfs\"\ngraphroot = \""+dir+"/root\"\nrunroot = \""+dir+"/run\"\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"CONTAINERS_STORAGE_CONF=" + conf}
	t.Cleanup(func() {
		testutil.RunErr("", env, "podman", "system", "reset", "--force")
		os.RemoveAll(dir)
	})
	return env
}

// truncatingStream writes an executable that writes the first half of
// archive and fails: a stream that breaks while it is loaded.
func truncatingStream(t *testing.T, archive string) string {
	t.Helper()
	fi, err := os.Stat(archive)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "broken-stream")
	script := "#!/bin/sh\nhead -c " + strconv.FormatInt(fi.Size()/2, 10) + " " + archive + "\nexit 1\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCopyToPodman loads an image and a stream script built with Nix into
// a real podman store with copyToPodman and copyTo, checks the image IDs
// podman reports against the archives' config digests, and that a load
// that breaks or a podman that is missing leaves no image and no process.
// (podman run needs rlimits this sandbox refuses: the image is inspected.)
func TestCopyToPodman(t *testing.T) {
	b := buildCopyTo(t)
	env := podmanStore(t)
	streamed := filepath.Join(t.TempDir(), "stream.tar")
	testutil.Run(t, "", nil, b.stream, "-o", streamed)
	inspectID := func(ref string) string {
		out, errOut, err := testutil.RunErr("", env, "podman", "image", "inspect", "--format", "{{.Id}}", ref)
		if err != nil {
			return "absent: " + errOut
		}
		return "sha256:" + strings.TrimSpace(out)
	}
	cases := []struct {
		name, app, ref, want string
		args                 []string
	}{
		{"copyToPodman, its own tag", b.copyToPodman, "localhost/copyto-img:v1", configDigest(t, b.img), nil},
		{"copyToPodman NAME:TAG", b.copyToPodman, "localhost/other/name:v2", configDigest(t, b.img), []string{"other/name:v2", "--quiet"}},
		{"copyTo containers-storage: a stream", b.copyStream, "localhost/copyto-stream:v1", configDigest(t, streamed), []string{"containers-storage:"}},
		{"copyTo podman:NAME:TAG", b.copyTo, "localhost/via-copyto:v3", configDigest(t, b.img), []string{"podman:via-copyto:v3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, err := runMarked(t, env, c.app, c.args...)
			if err != nil {
				t.Fatalf("%s: %v\n%s", c.app, err, errOut)
			}
			if got := strings.TrimSpace(out); got != c.ref {
				t.Errorf("%s printed %q, want %q", c.app, got, c.ref)
			}
			if got := inspectID(c.ref); got != c.want {
				t.Errorf("podman has %s as %s, want %s", c.ref, got, c.want)
			}
		})
	}
	t.Run("a stream that breaks loads nothing", func(t *testing.T) {
		broken := truncatingStream(t, b.img)
		_, errOut, err := runMarked(t, env, testutil.Exe(t), "push", "--quiet", broken, "containers-storage:")
		if err == nil || !strings.Contains(errOut, "nothing was loaded") || !strings.Contains(errOut, broken) {
			t.Errorf("push of a broken stream: %v\n%s", err, errOut)
		}
		images := testutil.Run(t, "", env, "podman", "images", "--format", "{{.Repository}}:{{.Tag}}")
		if strings.Count(images, "copyto-img:v1") != 1 || strings.Count(images, "\n") != len(cases) {
			t.Errorf("podman lists after the failed loads:\n%s", images)
		}
	})
	t.Run("a store podman cannot open", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "file")
		conf := filepath.Join(dir, "storage.conf")
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(conf, []byte("[storage]\ndriver = \"vfs\"\ngraphroot = \""+file+"/root\"\nrunroot = \""+file+"/run\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errOut, err := runMarked(t, []string{"CONTAINERS_STORAGE_CONF=" + conf}, testutil.Exe(t), "push", "--quiet", b.img, "containers-storage:x:v1")
		if err == nil || !strings.Contains(errOut, `into podman:x:v1: podman is not reachable: podman info`) {
			t.Errorf("push into a broken podman store: %v\n%s", err, errOut)
		}
	})
	t.Run("podman missing", func(t *testing.T) {
		_, errOut, err := runMarked(t, []string{"PATH=/nonexistent"}, testutil.Exe(t), "push", "--quiet", b.img, "containers-storage:x:v1")
		if err == nil || !strings.Contains(errOut, "podman is not reachable: podman is not installed") {
			t.Errorf("push with no podman: %v\n%s", err, errOut)
		}
	})
}

// TestCopyToContainerd imports an image and a stream script built with Nix
// into a real containerd with copyTo, runs them, and checks that the
// manifest containerd stores names the archive's config; a containerd that
// is not there, a namespace containerd refuses and a load that breaks
// each fail naming the destination, and leave no image and no process.
func TestCopyToContainerd(t *testing.T) {
	b := buildCopyTo(t)
	sock, ctr := startContainerdAt(t)
	env := []string{"CONTAINERD_ADDRESS=" + sock, "CONTAINERD_NAMESPACE=nixlayer-test", "CONTAINERD_SNAPSHOTTER=native"}
	streamed := filepath.Join(t.TempDir(), "stream.tar")
	testutil.Run(t, "", nil, b.stream, "-o", streamed)
	cases := []struct {
		name, app, ref, config string
		args                   []string
	}{
		{"image", b.copyTo, "docker.io/library/copyto-img:v1", configDigest(t, b.img), []string{"containerd:"}},
		{"stream", b.copyStream, "127.0.0.1:5000/app/stream:v2", configDigest(t, streamed), []string{"containerd:127.0.0.1:5000/app/stream:v2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, err := runMarked(t, env, c.app, c.args...)
			if err != nil {
				t.Fatalf("%s: %v\n%s", c.app, err, errOut)
			}
			ls := ctr("images", "ls")
			var digest string
			for _, line := range strings.Split(ls, "\n") {
				if f := strings.Fields(line); len(f) > 3 && f[0] == c.ref {
					digest = f[2]
				}
			}
			if digest == "" {
				t.Fatalf("containerd lists no %s:\n%s", c.ref, ls)
			}
			if got := strings.TrimSpace(out); got != c.ref+"@"+digest {
				t.Errorf("%s printed %q, want %s@%s", c.app, got, c.ref, digest)
			}
			var m struct{ Config struct{ Digest string } }
			if err := json.Unmarshal([]byte(ctr("content", "get", digest)), &m); err != nil || m.Config.Digest != c.config {
				t.Errorf("the manifest of %s names config %q (%v), want %s", c.ref, m.Config.Digest, err, c.config)
			}
			if check := ctr("images", "check", "name=="+c.ref); !strings.Contains(check, "complete") {
				t.Errorf("ctr images check %s: %s", c.ref, check)
			}
			if got := ctr("run", "--rm", "--snapshotter", "native", c.ref, "copyto-"+c.name); got != "Hello from nixlayer\n" {
				t.Errorf("ctr run %s printed %q", c.ref, got)
			}
		})
	}
	t.Run("again: only the blobs containerd lacks", func(t *testing.T) {
		_, errOut, err := runMarked(t, env, b.copyTo, "containerd:again/img:v1")
		if err != nil {
			t.Fatalf("%s: %v\n%s", b.copyTo, err, errOut)
		}
		m, _ := testutil.DockerArchive(t, b.img)
		if want := fmt.Sprintf("has %d of the %d layers of docker.io/again/img:v1: they are not sent", len(m[0].Layers), len(m[0].Layers)); !strings.Contains(errOut, want) {
			t.Errorf("copy-to said:\n%s\nwant %q", errOut, want)
		}
		if got := ctr("run", "--rm", "--snapshotter", "native", "docker.io/again/img:v1", "copyto-again"); got != "Hello from nixlayer\n" {
			t.Errorf("ctr run printed %q", got)
		}
	})
	refused := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"no socket", nil, []string{"--containerd-address", filepath.Join(t.TempDir(), "none.sock"), b.img, "containerd:absent/a:v1"},
			[]string{"into containerd:absent/a:v1", "none.sock (namespace nixlayer-test) is not reachable: no socket"}},
		{"a socket nothing answers", nil, []string{"--containerd-address", deadSocket(t), b.img, "containerd:absent/b:v1"},
			[]string{"is not reachable: nothing answers"}},
		{"bad namespace", nil, []string{"--containerd-namespace", "bad ns!", b.img, "containerd:absent/c:v1"},
			[]string{`namespace "bad ns!" is not valid`}},
		{"a snapshotter containerd lacks", []string{"CONTAINERD_SNAPSHOTTER=nonexistent"}, []string{b.stream, "containerd:absent/e:v1"},
			[]string{"into containerd:absent/e:v1", "ctr --address"}},
		{"a stream that breaks", nil, []string{truncatingStream(t, b.img), "containerd:absent/d:v1"},
			[]string{"into containerd:absent/d:v1 (nothing was loaded)"}},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			_, errOut, err := runMarked(t, append(env, c.env...), testutil.Exe(t), append([]string{"push", "--quiet"}, c.args...)...)
			if err == nil {
				t.Fatalf("push %v succeeded", c.args)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("push %v: the error lacks %q:\n%s", c.args, w, errOut)
				}
			}
		})
	}
	if ls := ctr("images", "ls", "-q"); strings.Contains(ls, "absent") {
		t.Errorf("containerd lists images of failed loads:\n%s", ls)
	}
}

// deadSocket is a unix socket nothing listens on any more.
func deadSocket(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dead-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := filepath.Join(dir, "s.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	return p
}

// TestCopyToRegistry puts an image built with Nix into the real
// docker-registry with copyTo docker://…, and checks that the digest it
// prints is the manifest the registry serves.
func TestCopyToRegistry(t *testing.T) {
	b := buildCopyTo(t)
	reg := registrytest.Start(t)
	ref := reg.Host + "/copyto/app:v1"
	out, errOut, err := runMarked(t, nil, b.copyTo, "docker://"+ref, "--insecure", "--quiet")
	if err != nil {
		t.Fatalf("%s: %v\n%s", b.copyTo, err, errOut)
	}
	raw := testutil.Run(t, "", nil, "skopeo", "inspect", "--raw", "--tls-verify=false", "docker://"+ref)
	sum := sha256.Sum256([]byte(raw))
	if want := reg.Host + "/copyto/app@sha256:" + hex.EncodeToString(sum[:]); strings.TrimSpace(out) != want {
		t.Errorf("copy-to printed %q, the registry serves %s", out, want)
	}
	if !strings.Contains(raw, configDigest(t, b.img)) {
		t.Errorf("the pushed manifest does not name config %s:\n%s", configDigest(t, b.img), raw)
	}
}

// TestCopyToDocker loads the stream script built with Nix into the Docker
// engine with copyTo docker-daemon:NAME:TAG, and runs it there; a Docker
// that does not answer is named, and nothing is loaded.
func TestCopyToDocker(t *testing.T) {
	testutil.RequireTool(t, "docker")
	t.Run("no engine", func(t *testing.T) {
		img := buildCopyTo(t).img
		env := []string{"DOCKER_HOST=unix://" + filepath.Join(t.TempDir(), "none.sock")}
		_, errOut, err := runMarked(t, env, testutil.Exe(t), "push", "--quiet", img, "docker-daemon:absent/x:v1")
		if err == nil || !strings.Contains(errOut, "into docker-daemon:absent/x:v1: Docker is not reachable: docker version") {
			t.Errorf("push to a Docker that is not there: %v\n%s", err, errOut)
		}
	})
	if !testutil.DockerAvailable() {
		t.Skip("SKIP: no Docker engine answers `docker info`")
	}
	b := buildCopyTo(t)
	streamed := filepath.Join(t.TempDir(), "stream.tar")
	testutil.Run(t, "", nil, b.stream, "-o", streamed)
	ref := "nixlayer-test/copyto-docker:v1"
	t.Cleanup(func() { testutil.RunErr("", nil, "docker", "rmi", "-f", ref) })
	out, errOut, err := runMarked(t, nil, b.copyStream, "docker-daemon:"+ref, "--quiet")
	if err != nil {
		t.Fatalf("%s: %v\n%s", b.copyStream, err, errOut)
	}
	if !strings.Contains(out, ref) {
		t.Errorf("copy-stream printed %q, want %s", out, ref)
	}
	if id := strings.TrimSpace(testutil.Run(t, "", nil, "docker", "image", "inspect", "--format", "{{.Id}}", ref)); id != configDigest(t, streamed) {
		t.Errorf("Docker has %s as %s, want %s", ref, id, configDigest(t, streamed))
	}
	if got := testutil.Run(t, "", nil, "docker", "run", "--rm", ref); got != "Hello from nixlayer\n" {
		t.Errorf("docker run %s printed %q", ref, got)
	}
}
