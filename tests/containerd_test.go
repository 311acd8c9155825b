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

// startContainerd runs a containerd of the test's own (state, content and a
// socket under a temporary directory) and returns a function that runs ctr
// against it.
func startContainerd(t *testing.T) func(args ...string) string {
	t.Helper()
	_, ctr := startContainerdAt(t)
	return ctr
}

// startContainerdAt is startContainerd, which also returns the socket.
func startContainerdAt(t *testing.T) (string, func(args ...string) string) {
	t.Helper()
	testutil.RequireTool(t, "containerd")
	testutil.RequireTool(t, "ctr")
	dir, err := os.MkdirTemp("", "ctrd-") // short: a socket path is limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "containerd.sock")
	config := filepath.Join(dir, "config.toml")
	err = os.WriteFile(config, []byte("version = 2\nroot = \""+filepath.Join(dir, "root")+"\"\nstate = \""+filepath.Join(dir, "state")+"\"\n[grpc]\n  address = \""+sock+"\"\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("containerd", "--config", config)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
	ctr := func(args ...string) string {
		return testutil.Run(t, "", nil, "ctr", append([]string{"--address", sock, "-n", "nixlayer-test"}, args...)...)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, _, err := testutil.RunErr("", nil, "ctr", "--address", sock, "version"); err == nil {
			return sock, ctr
		}
		if time.Now().After(deadline) {
			data, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("containerd did not answer on %s:\n%s", sock, data)
		}
	}
}

// TestContainerd imports nixlayer's images into a real containerd (the
// runtime behind Kubernetes and Docker) and runs one: a gzip docker-archive,
// a zstd oci-archive and the output of a stream script.
func TestContainerd(t *testing.T) {
	out := testutil.NixBuild(t, `let c = [ testPkgs.hello testPkgs.bbBin ]; cfg.Cmd = [ "/bin/hello" ]; in [
	  (nl.buildLayeredImage { name = "ctr-gzip"; tag = "v1"; contents = c; config = cfg; })
	  (nl.buildLayeredImage { name = "ctr-zstd"; tag = "v1"; contents = c; config = cfg; format = "oci-archive"; compression = "zstd"; })
	  (nl.streamLayeredImage { name = "ctr-stream"; tag = "v1"; contents = c; config = cfg; })
	]`)
	paths := strings.Fields(out)
	if len(paths) != 3 {
		t.Fatalf("nix-build printed %q", out)
	}
	streamed := filepath.Join(t.TempDir(), "stream.tar")
	testutil.Run(t, "", nil, paths[2], "-o", streamed)
	ctr := startContainerd(t)
	for _, c := range []struct{ name, file, ref string }{
		{"docker-archive gzip", paths[0], "docker.io/library/ctr-gzip:v1"},
		{"oci-archive zstd", paths[1], "docker.io/library/ctr-zstd:v1"},
		{"stream", streamed, "docker.io/library/ctr-stream:v1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"images", "import", "--snapshotter", "native"}
			if strings.HasSuffix(c.name, "zstd") {
				// An OCI archive names its image by tag alone.
				args = append(args, "--base-name", "docker.io/library/ctr-zstd")
			}
			ctr(append(args, c.file)...)
			if ls := ctr("images", "ls", "-q"); !strings.Contains(ls, c.ref) {
				t.Fatalf("containerd lists %q, not %s", ls, c.ref)
			}
			got := ctr("run", "--rm", "--snapshotter", "native", c.ref, "nixlayer-"+strings.ReplaceAll(c.name, " ", "-"))
			if got != "Hello from nixlayer\n" {
				t.Errorf("ctr run %s printed %q", c.ref, got)
			}
		})
	}
}
