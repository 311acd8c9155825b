package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

func TestStreamLayeredImage(t *testing.T) {
	// The streamed image and the same image built (uncompressed, as a
	// stream is) must be the same archive.
	paths := strings.Fields(testutil.NixBuild(t, "[ "+
		layeredExpr("streamLayeredImage", "streamed", "docker-archive", "none")+"\n"+
		layeredExpr("buildLayeredImage", "streamed", "docker-archive", "none")+" testPkgs.hello ]"))
	if len(paths) != 3 {
		t.Fatalf("nix-build gave %q", paths)
	}
	script, built, hello := paths[0], paths[1], paths[2]

	t.Run("script is small and runs nixlayer", func(t *testing.T) {
		fi, err := os.Stat(script)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 64<<10 || fi.Mode()&0o111 == 0 {
			t.Errorf("stream script is %d bytes, mode %v; want an executable of kilobytes", fi.Size(), fi.Mode())
		}
		f, err := os.Open(script)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		first, _ := bufio.NewReader(f).ReadString('\n')
		if !strings.HasPrefix(first, "#!/nix/store/") || !strings.HasSuffix(first, "/bin/nixlayer stream\n") {
			t.Errorf("first line %q, want #!<nixlayer in the store> stream", first)
		}
	})

	dir := t.TempDir()
	file := filepath.Join(dir, "image.tar")
	testutil.Run(t, "", nil, script, "-o", file)

	t.Run("-o file is the built image", func(t *testing.T) {
		a, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(built)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("streamed archive (%d bytes) differs from buildLayeredImage's (%d bytes)", len(a), len(b))
		}
	})

	t.Run("stdout is the -o file", func(t *testing.T) {
		cmd := exec.Command(script)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, errOut.String())
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("stdout (%d bytes) differs from the -o file (%d bytes)", out.Len(), len(want))
		}
	})

	t.Run("skopeo reads the -o file", func(t *testing.T) {
		testutil.RequireTool(t, "skopeo")
		var info struct {
			Layers  []string
			Created time.Time
		}
		out := testutil.Run(t, "", nil, "skopeo", "inspect", "docker-archive:"+file)
		if err := json.Unmarshal([]byte(out), &info); err != nil {
			t.Fatalf("skopeo inspect: %v\n%s", err, out)
		}
		r := nixlayerInspect(t, file)
		if len(info.Layers) != 4 || len(r.Layers) != 4 {
			t.Fatalf("skopeo sees %d layers, nixlayer inspect %d; want 4", len(info.Layers), len(r.Layers))
		}
		r.layerOf(t, hello)
		// skopeo copy reads every layer and checks it against its digest.
		testutil.Run(t, "", nil, "skopeo", "copy", "--quiet", "docker-archive:"+file, "oci:"+filepath.Join(t.TempDir(), "oci")+":v1")
	})

	t.Run("docker load and run", func(t *testing.T) {
		if !testutil.DockerAvailable() {
			t.Skip("SKIP: no Docker engine answers `docker info`")
		}
		tag := fmt.Sprintf("streamed-test-%d:v1", os.Getpid())
		pipe := fmt.Sprintf("%q | docker load && docker tag streamed:v1 %s", script, tag)
		testutil.Run(t, "", nil, "sh", "-c", pipe)
		t.Cleanup(func() { exec.Command("docker", "rmi", tag).Run() })
		out := testutil.Run(t, "", nil, "docker", "run", "--rm", tag)
		if !strings.Contains(out, "Hello from nixlayer") {
			t.Errorf("docker run %s printed %q", tag, out)
		}
	})
}

// TestStreamGarbageCollectedPath builds a stream script over a store path
// made for this test only, deletes the script's store copy and the path
// from the store, and runs a copy of the script: it must fail naming the
// path and leave nothing at the -o target.
func TestStreamGarbageCollectedPath(t *testing.T) {
	testutil.RequireTool(t, "nix-store")
	nonce := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	victimExpr := fmt.Sprintf(`testPkgs.run "gc-victim" "mkdir -p $out/bin; echo %s > $out/bin/nonce" {}`, nonce)
	paths := strings.Fields(testutil.NixBuild(t, fmt.Sprintf(`let victim = %s; in [
  (nl.streamLayeredImage { name = "victim"; tag = "v1"; contents = [ victim ]; })
  victim ]`, victimExpr)))
	if len(paths) != 2 {
		t.Fatalf("nix-build gave %q", paths)
	}
	script, victim := paths[0], paths[1]
	dir := t.TempDir()
	copied := filepath.Join(dir, "stream")
	data, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copied, data, 0o755); err != nil {
		t.Fatal(err)
	}
	// The script references the victim, so both go together; nothing else
	// refers to either (the nonce makes them this test's own).
	testutil.Run(t, "", testutil.NixEnv(), "nix-store", "--delete", script, victim)
	if _, err := os.Lstat(victim); err == nil {
		t.Fatalf("%s is still in the store", victim)
	}

	t.Run("-o file", func(t *testing.T) {
		target := filepath.Join(dir, "out", "image.tar")
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			t.Fatal(err)
		}
		_, errOut, err := testutil.RunErr("", nil, copied, "-o", target)
		if err == nil {
			t.Fatal("streaming an image whose store path is gone succeeded")
		}
		for _, want := range []string{victim, "is gone (garbage-collected?)", "rebuild the image"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("error does not say %q:\n%s", want, errOut)
			}
		}
		if left, _ := os.ReadDir(filepath.Dir(target)); len(left) != 0 {
			t.Errorf("files left beside the target: %v", left)
		}
	})
	t.Run("stdout", func(t *testing.T) {
		out, errOut, err := testutil.RunErr("", nil, copied)
		if err == nil || !strings.Contains(errOut, victim) || !strings.Contains(errOut, "is gone (garbage-collected?)") {
			t.Errorf("exit %v, stderr %q; want a failure naming %s as gone", err, errOut, victim)
		}
		if out != "" {
			t.Errorf("%d bytes written to stdout before the error", len(out))
		}
	})
}
