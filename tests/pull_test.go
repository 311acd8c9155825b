package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/pull"
)

// pullNix binds `rp` to the functions of nix/pull.nix and nix/push.nix
// imported with the test binary, in front of expr.
func pullNix(t *testing.T, expr string) string {
	t.Helper()
	nix := filepath.Join(testutil.RepoRoot(t), "nix")
	return fmt.Sprintf(`let args = { nixlayerBin = "${builtins.path { path = %q; name = "nixlayer"; }}/bin/nixlayer"; system = builtins.currentSystem; };
  rp = import %q args // import %q args;
in %s`, testutil.Binary(t), filepath.Join(nix, "pull.nix"), filepath.Join(nix, "push.nix"), expr)
}

func layerDigestsOf(t *testing.T, archive string) []v1.Hash {
	t.Helper()
	img, err := tarball.ImageFromPath(archive, nil)
	if err != nil {
		t.Fatalf("reading %s: %v", archive, err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var ds []v1.Hash
	for _, l := range m.Layers {
		ds = append(ds, l.Digest)
	}
	return ds
}

// TestRegistryRoundTrip builds an image with nixlayer, pushes it to a real
// docker-registry, pins it, fetches it with pullImage in real Nix and
// compares; skopeo checks what the registry holds.
func TestRegistryRoundTrip(t *testing.T) {
	exe := testutil.Exe(t)
	reg := registrytest.Start(t)
	built := testutil.NixBuild(t, `nl.buildImage { name = "rt"; tag = "v1"; contents = [ testPkgs.hello ]; config.Cmd = [ "/bin/hello" ]; }`)
	want := layerDigestsOf(t, built)

	// push: prints NAME@DIGEST; plain progress lines when not on a terminal.
	dest := reg.Host + "/nixlayer/rt:v1"
	out, errOut, err := testutil.RunErr("", nil, exe, "push", built, dest)
	if err != nil {
		t.Fatalf("push: %v\n%s", err, errOut)
	}
	pushedRef := strings.TrimSpace(out)
	if !strings.HasPrefix(pushedRef, reg.Host+"/nixlayer/rt@sha256:") {
		t.Fatalf("push printed %q", out)
	}
	if !strings.Contains(errOut, "pushing "+dest+": done, ") || strings.Contains(errOut, "\r") {
		t.Errorf("progress on a pipe should be plain lines ending with done:\n%q", errOut)
	}

	// skopeo sees what was pushed.
	testutil.RequireTool(t, "skopeo")
	var inspect struct {
		Digest string
		Layers []string
	}
	js := testutil.Run(t, "", nil, "skopeo", "inspect", "--tls-verify=false", "docker://"+dest)
	if err := json.Unmarshal([]byte(js), &inspect); err != nil {
		t.Fatal(err)
	}
	if reg.Host+"/nixlayer/rt@"+inspect.Digest != pushedRef {
		t.Errorf("skopeo sees %s, push printed %s", inspect.Digest, pushedRef)
	}
	if fmt.Sprint(inspect.Layers) != fmt.Sprint(want) {
		t.Errorf("skopeo sees layers %v, the image has %v", inspect.Layers, want)
	}

	for _, format := range []string{"docker-archive", "oci-layout"} {
		t.Run(format, func(t *testing.T) {
			// pin, then pullImage with exactly the pinned values.
			js := testutil.Run(t, "", nil, exe, "pin", "--json", "--format", format, dest)
			var p pull.Pinned
			if err := json.Unmarshal([]byte(js), &p); err != nil {
				t.Fatalf("pin --json printed %q: %v", js, err)
			}
			if p.ImageDigest != inspect.Digest || p.FinalImageTag != "v1" {
				t.Errorf("pinned %+v", p)
			}
			nixAttrs := testutil.Run(t, "", nil, exe, "pin", "--format", format, dest)
			if !strings.Contains(nixAttrs, `sha256 = "`+p.Sha256+`";`) {
				t.Errorf("pin printed:\n%s", nixAttrs)
			}
			// The attribute set pin prints is pasted as it is.
			pulled := testutil.NixBuild(t, pullNix(t, "rp.pullImage "+nixAttrs))
			if format == "oci-layout" {
				// skopeo reads the layout (its manifest is OCI, the blobs the pushed ones).
				var oci struct{ Layers []string }
				if err := json.Unmarshal([]byte(testutil.Run(t, "", nil, "skopeo", "inspect", "oci:"+pulled+":v1")), &oci); err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(oci.Layers) != fmt.Sprint(want) {
					t.Errorf("skopeo sees layers %v in the OCI layout, want %v", oci.Layers, want)
				}
			} else if got := layerDigestsOf(t, pulled); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("pulled layers %v, want %v", got, want)
			}
			// A wrong hash fails in Nix and leaves no output.
			bad := strings.Replace(nixAttrs, p.Sha256, "0000000000000000000000000000000000000000000000000000", 1)
			if _, errOut, err := testutil.NixBuildErr(t, pullNix(t, "rp.pullImage "+bad)); err == nil || !strings.Contains(errOut, "hash mismatch") {
				t.Errorf("a wrong sha256 built (%v):\n%s", err, errOut)
			}
		})
	}

	t.Run("digest not found", func(t *testing.T) {
		missing := "sha256:" + strings.Repeat("0", 64)
		expr := fmt.Sprintf(`rp.pullImage { imageName = %q; imageDigest = %q; sha256 = "0000000000000000000000000000000000000000000000000000"; }`, reg.Host+"/nixlayer/rt", missing)
		_, errOut, err := testutil.NixBuildErr(t, pullNix(t, expr))
		if err == nil || !strings.Contains(errOut, "MANIFEST_UNKNOWN") || !strings.Contains(errOut, reg.Host+"/nixlayer/rt@"+missing) {
			t.Errorf("pullImage of a missing digest: %v\n%s", err, errOut)
		}
	})

	t.Run("copyToRegistry", func(t *testing.T) {
		app := testutil.NixBuild(t, pullNix(t, fmt.Sprintf(`rp.copyToRegistry { image = %q; destination = %q; }`, built, reg.Host+"/nixlayer/app:v1")))
		out := testutil.Run(t, "", nil, filepath.Join(app, "bin", "copy-to-registry"), "--quiet")
		if strings.TrimSpace(out) != strings.Replace(pushedRef, "/rt@", "/app@", 1) {
			t.Errorf("copy-to-registry printed %q, want the same digest as %s", out, pushedRef)
		}
	})

	t.Run("push a stream script", func(t *testing.T) {
		script := testutil.NixBuild(t, `nl.streamLayeredImage { name = "st"; tag = "v1"; contents = [ testPkgs.hello ]; }`)
		streamed := filepath.Join(t.TempDir(), "streamed.tar")
		testutil.Run(t, "", nil, script, "-o", streamed)
		img, err := tarball.ImageFromPath(streamed, nil)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		dest := reg.Host + "/nixlayer/st:v1"
		out := testutil.Run(t, "", nil, exe, "push", "--quiet", script, dest)
		if !strings.HasPrefix(out, reg.Host+"/nixlayer/st@sha256:") {
			t.Errorf("push printed %q", out)
		}
		var cfg struct {
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
		}
		js := testutil.Run(t, "", nil, "skopeo", "inspect", "--tls-verify=false", "--config", "docker://"+dest)
		if err := json.Unmarshal([]byte(js), &cfg); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(cfg.RootFS.DiffIDs) != fmt.Sprint(cf.RootFS.DiffIDs) || len(cf.RootFS.DiffIDs) == 0 {
			t.Errorf("registry has diff_ids %v, the stream %v", cfg.RootFS.DiffIDs, cf.RootFS.DiffIDs)
		}
	})

	t.Run("copyToDockerDaemon", func(t *testing.T) {
		if !testutil.DockerAvailable() {
			t.Skip("SKIP: no Docker engine answers `docker info`")
		}
		tag := "nixlayer-pull-test/rt:" + filepath.Base(t.TempDir())
		app := testutil.NixBuild(t, pullNix(t, fmt.Sprintf(`rp.copyToDockerDaemon %q`, built)))
		out := testutil.Run(t, "", nil, filepath.Join(app, "bin", "copy-to-docker-daemon"), tag)
		t.Cleanup(func() { testutil.RunErr("", nil, "docker", "rmi", tag) })
		if !strings.Contains(out, tag) {
			t.Errorf("copy-to-docker-daemon printed %q", out)
		}
		var diffIDs []string
		js := testutil.Run(t, "", nil, "docker", "image", "inspect", "--format", "{{json .RootFS.Layers}}", tag)
		if err := json.Unmarshal([]byte(js), &diffIDs); err != nil {
			t.Fatal(err)
		}
		img, _ := tarball.ImageFromPath(built, nil)
		cf, _ := img.ConfigFile()
		if fmt.Sprint(diffIDs) != fmt.Sprint(cf.RootFS.DiffIDs) {
			t.Errorf("docker has layers %v, the image %v", diffIDs, cf.RootFS.DiffIDs)
		}
	})
}

// TestRegistryCLIFaults runs the commands against a failing registry: a
// clear error naming the reference, a non-zero exit, nothing written.
func TestRegistryCLIFaults(t *testing.T) {
	exe := testutil.Exe(t)
	reg := registrytest.Start(t)
	proxy := registrytest.NewProxy(t, reg.Host)
	src := testutil.NixBuild(t, `nl.buildImage { name = "faults"; tag = "v1"; contents = [ testPkgs.hello ]; }`)
	dest := proxy.Host + "/faults:v1"

	proxy.Inject(registrytest.Rule{Match: registrytest.BlobUpload, Fault: registrytest.Status, Code: http.StatusServiceUnavailable})
	_, errOut, err := testutil.RunErr("", nil, exe, "push", "--quiet", src, dest)
	if err == nil || !strings.Contains(errOut, "503") || !strings.Contains(errOut, dest) {
		t.Errorf("push through 503s: %v\n%s", err, errOut)
	}
	proxy.Clear()
	out := testutil.Run(t, "", nil, exe, "push", "--quiet", src, dest)
	digest := strings.TrimSpace(out[strings.Index(out, "@")+1:])

	dir := t.TempDir()
	target := filepath.Join(dir, "image.tar")
	proxy.Inject(registrytest.Rule{Match: registrytest.BlobGet, Fault: registrytest.Corrupt})
	_, errOut, err = testutil.RunErr("", nil, exe, "pull", "--quiet", "--out", target, proxy.Host+"/faults@"+digest)
	if err == nil || !strings.Contains(errOut, "downloading blob sha256:") {
		t.Errorf("pull of corrupt blobs: %v\n%s", err, errOut)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed pull left %v", entries)
	}
	_, errOut, err = testutil.RunErr("", nil, exe, "pin", "--quiet", proxy.Host+"/faults:nope")
	if err == nil || !strings.Contains(errOut, proxy.Host+"/faults:nope") {
		t.Errorf("pin of a missing tag: %v\n%s", err, errOut)
	}
}
