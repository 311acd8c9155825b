package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
)

// arm64Busybox is the directory tests/setup.sh extracts Debian's
// busybox-static:arm64 into. Without it the test skips, saying so, on a
// developer's machine and fails in CI, where tests/setup.sh has run.
func arm64Busybox(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		cache = filepath.Join(os.Getenv("HOME"), ".cache")
	}
	dir := filepath.Join(cache, "nixlayer-tools", "busybox-arm64")
	if _, err := os.Stat(filepath.Join(dir, "busybox")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no arm64 busybox in %s: tests/setup.sh fetches it: %v", dir, err)
		}
		t.Skipf("SKIP: no arm64 busybox in %s (tests/setup.sh fetches it)", dir)
	}
	return dir
}

// indexExpr joins an amd64 and an arm64 image of busybox (both with the
// same data package, whose layer the index stores once). The amd64 one is
// given as amdKind, the arm64 one as armKind: "stream" or an image format.
func indexExpr(armDir, amdKind, armKind, format string) string {
	img := func(arch, bb, kind string) string {
		fn, fmtArg := "buildLayeredImage", ""
		if kind == "stream" {
			// gzip, as the built images' default: the shared layer is one blob.
			fn, fmtArg = "streamLayeredImage", `compression = "gzip";`
		} else {
			fmtArg = fmt.Sprintf("format = %q;", kind)
		}
		return fmt.Sprintf(`(nl.%s { name = "bb"; tag = %q; architecture = %q; %s contents = [ %s shared ]; config.Cmd = [ "/busybox" "cat" "/share/motd" ]; })`, fn, arch, arch, fmtArg, bb)
	}
	return fmt.Sprintf(`let
  bbArm = builtins.path { path = %q; name = "busybox-static-arm64"; filter = p: t: baseNameOf p == "busybox"; };
  shared = testPkgs.run "shared-1.0" "mkdir -p $out/share; echo shared by every platform > $out/share/motd" {};
in nl.buildImageIndex { name = "multi"; tag = "v1"; format = %q; images = [ %s %s ]; }`,
		armDir, format, img("amd64", "testPkgs.bbDir", amdKind), img("arm64", "bbArm", armKind))
}

// TestImageIndex builds a two-platform index in the Nix sandbox and reads
// it back with go-containerregistry, skopeo and umoci; pushes it to a real
// registry; pins and pulls each platform with pullImage.
func TestImageIndex(t *testing.T) {
	exe := testutil.Exe(t)
	armDir := arm64Busybox(t)
	layoutOut := testutil.NixBuild(t, indexExpr(armDir, "stream", "oci-archive", "oci-layout"))

	// Reproducible: Nix builds it again and compares the bytes.
	testutil.NixBuild(t, indexExpr(armDir, "stream", "oci-archive", "oci-layout"), "--check")

	// index.json names one index; the index lists both platforms.
	top, err := layout.ImageIndexFromPath(layoutOut)
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := top.IndexManifest()
	if len(tm.Manifests) != 1 || !tm.Manifests[0].MediaType.IsIndex() || tm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v1" {
		t.Fatalf("index.json: %+v", tm.Manifests)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Errorf("validate.Index: %v", err)
	}
	im, _ := idx.IndexManifest()
	var plats []string
	layerCount := map[v1.Hash]int{}
	for _, m := range im.Manifests {
		plats = append(plats, m.Platform.OS+"/"+m.Platform.Architecture+"/"+m.Platform.Variant)
		img, _ := idx.Image(m.Digest)
		man, _ := img.Manifest()
		for _, l := range man.Layers {
			layerCount[l.Digest]++
		}
	}
	if got := strings.Join(plats, ","); got != "linux/amd64/,linux/arm64/v8" {
		t.Errorf("platforms %s", got)
	}
	shared := 0
	for _, n := range layerCount {
		if n == 2 {
			shared++
		}
	}
	if shared == 0 {
		t.Errorf("no layer is shared by both entries: %v", layerCount)
	}

	// skopeo picks each platform; umoci unpacks each.
	testutil.RequireTool(t, "skopeo")
	for _, arch := range []string{"amd64", "arm64"} {
		var info struct{ Architecture string }
		js := testutil.Run(t, "", nil, "skopeo", "--override-arch", arch, "inspect", "oci:"+layoutOut+":v1")
		if err := json.Unmarshal([]byte(js), &info); err != nil || info.Architecture != arch {
			t.Errorf("skopeo --override-arch %s inspect: %v %s", arch, err, js)
		}
		one := filepath.Join(t.TempDir(), "one")
		testutil.Run(t, "", nil, "skopeo", "--override-arch", arch, "copy", "oci:"+layoutOut+":v1", "oci:"+one+":v1")
		if _, err := exec.LookPath("umoci"); err == nil {
			bundle := filepath.Join(t.TempDir(), "bundle")
			testutil.Run(t, "", nil, "umoci", "unpack", "--rootless", "--image", one+":v1", bundle)
			data, err := os.ReadFile(filepath.Join(bundle, "rootfs", "share", "motd"))
			if err != nil || !strings.Contains(string(data), "shared by every platform") {
				t.Errorf("umoci unpack of %s: %v %q", arch, err, data)
			}
			if arch == "arm64" {
				runArm64(t, filepath.Join(bundle, "rootfs", "busybox"))
			}
		}
	}
	umociWholeIndex(t, layoutOut)

	// inspect lists the entries.
	out := testutil.Run(t, "", nil, exe, "inspect", layoutOut)
	if !strings.Contains(out, "index of 2 images") || !strings.Contains(out, "linux/arm64/v8") {
		t.Errorf("inspect printed:\n%s", out)
	}

	// The same index as an oci-archive from other input formats: the same
	// index digest (only media types change, blobs are kept).
	archive := testutil.NixBuild(t, indexExpr(armDir, "docker-archive", "oci-layout", "oci-archive"))
	var ai v1.IndexManifest
	js := testutil.Run(t, "", nil, "skopeo", "inspect", "--raw", "oci-archive:"+archive+":v1")
	if err := json.Unmarshal([]byte(js), &ai); err != nil || len(ai.Manifests) != 2 {
		t.Fatalf("skopeo inspect --raw of the oci-archive: %v %s", err, js)
	}
	for i, m := range ai.Manifests {
		if m.Digest != im.Manifests[i].Digest {
			t.Errorf("entry %d of the oci-archive index is %s, of the layout %s", i, m.Digest, im.Manifests[i].Digest)
		}
	}

	// docker-archive is refused at evaluation, saying what to use.
	_, errOut, err := testutil.NixBuildErr(t, strings.Replace(indexExpr(armDir, "stream", "oci-archive", "oci-layout"), `format = "oci-layout"`, `format = "docker-archive"`, 1))
	if err == nil || !strings.Contains(errOut, `use format = "oci-layout" or "oci-archive"`) {
		t.Errorf("docker-archive index: %v\n%s", err, errOut)
	}

	t.Run("registry", func(t *testing.T) { indexRegistry(t, exe, layoutOut, archive, im) })
	t.Run("copyToDockerDaemon", func(t *testing.T) {
		if !testutil.DockerAvailable() {
			t.Skip("SKIP: no Docker engine answers `docker info`")
		}
		tag := "nixlayer-index-test/multi:" + filepath.Base(t.TempDir())
		app := testutil.NixBuild(t, pullNix(t, fmt.Sprintf(`rp.copyToDockerDaemon { image = %q; tag = %q; }`, archive, tag)))
		testutil.Run(t, "", nil, filepath.Join(app, "bin", "copy-to-docker-daemon"))
		t.Cleanup(func() { testutil.RunErr("", nil, "docker", "rmi", tag) })
		arch := strings.TrimSpace(testutil.Run(t, "", nil, "docker", "image", "inspect", "--format", "{{.Architecture}}", tag))
		if arch != runtime.GOARCH {
			t.Errorf("docker loaded the %s image, want this machine's %s", arch, runtime.GOARCH)
		}
	})
}

// indexRegistry pushes the index, reads it back as an index, and pins and
// pulls each platform in the Nix sandbox.
func indexRegistry(t *testing.T, exe, layoutOut, archive string, im *v1.IndexManifest) {
	reg := registrytest.Start(t)
	dest := reg.Host + "/nixlayer/multi:v1"
	pushed := strings.TrimSpace(testutil.Run(t, "", nil, exe, "push", "--quiet", layoutOut, dest))
	var raw struct {
		MediaType string
		Manifests []struct {
			Digest   string
			Platform struct{ Architecture string }
		}
	}
	js := testutil.Run(t, "", nil, "skopeo", "inspect", "--raw", "--tls-verify=false", "docker://"+dest)
	if err := json.Unmarshal([]byte(js), &raw); err != nil || raw.MediaType != "application/vnd.oci.image.index.v1+json" || len(raw.Manifests) != 2 {
		t.Fatalf("the registry holds %v %s", err, js)
	}
	// The oci-archive pushes to the same digest (its blobs were there).
	again := strings.TrimSpace(testutil.Run(t, "", nil, exe, "push", archive, reg.Host+"/nixlayer/multi:v2"))
	if strings.TrimPrefix(again, reg.Host+"/nixlayer/multi") != strings.TrimPrefix(pushed, reg.Host+"/nixlayer/multi") {
		t.Errorf("the oci-archive pushed as %s, the layout as %s", again, pushed)
	}
	for i, arch := range []string{"amd64", "arm64"} {
		nixAttrs := testutil.Run(t, "", nil, exe, "pin", "--quiet", "--arch", arch, dest)
		if !strings.Contains(nixAttrs, `arch = "`+arch+`";`) {
			t.Errorf("pin --arch %s printed:\n%s", arch, nixAttrs)
		}
		pulled := testutil.NixBuild(t, pullNix(t, "rp.pullImage "+nixAttrs))
		img, err := tarball.ImageFromPath(pulled, nil)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil || cf.Architecture != arch {
			t.Errorf("pullImage %s: config architecture %v %v", arch, cf, err)
		}
		cd, _ := img.ConfigName()
		want, _ := layout.ImageIndexFromPath(layoutOut)
		wm, _ := want.IndexManifest()
		wi, _ := want.ImageIndex(wm.Manifests[0].Digest)
		wimg, _ := wi.Image(im.Manifests[i].Digest)
		if wd, _ := wimg.ConfigName(); wd != cd {
			t.Errorf("pullImage %s: config %s, the index's %s", arch, cd, wd)
		}
	}
	// copyToRegistry takes the index.
	app := testutil.NixBuild(t, pullNix(t, fmt.Sprintf(`rp.copyToRegistry { image = %q; destination = %q; }`, layoutOut, reg.Host+"/nixlayer/app:v1")))
	out := testutil.Run(t, "", nil, filepath.Join(app, "bin", "copy-to-registry"), "--quiet")
	if strings.TrimPrefix(strings.TrimSpace(out), reg.Host+"/nixlayer/app") != strings.TrimPrefix(pushed, reg.Host+"/nixlayer/multi") {
		t.Errorf("copy-to-registry printed %q, want the digest of %s", out, pushed)
	}
}

// runArm64 runs the arm64 busybox of an unpacked image with
// qemu-aarch64-static when installed (tests/setup.sh installs it); it says
// so and returns when qemu is not there.
func runArm64(t *testing.T, bin string) {
	q, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		t.Logf("NOTE: qemu-aarch64-static is not installed: the arm64 busybox was not run")
		return
	}
	out := testutil.Run(t, "", nil, q, bin, "echo", "hello from arm64")
	if strings.TrimSpace(out) != "hello from arm64" {
		t.Errorf("arm64 busybox under qemu printed %q", out)
	}
	t.Logf("the arm64 busybox of the index ran under %s: %s", q, strings.TrimSpace(out))
}

// umociWholeIndex records what umoci does with the tag naming the index
// itself: umoci 0.4.7 has no platform choice, so it refuses a tag that
// resolves to several manifests; each platform unpacks once skopeo copied
// it out (above).
func umociWholeIndex(t *testing.T, dir string) {
	if _, err := exec.LookPath("umoci"); err != nil {
		return
	}
	_, errOut, err := testutil.RunErr("", nil, "umoci", "unpack", "--rootless", "--image", dir+":v1", filepath.Join(t.TempDir(), "b"))
	t.Logf("umoci unpack of the index tag: err=%v %s", err, strings.TrimSpace(errOut))
}

// TestImageIndexBadInput: each error names the entry, in Nix as in Go.
func TestImageIndexBadInput(t *testing.T) {
	img := func(tag, arch string) string {
		return fmt.Sprintf(`(nl.buildLayeredImage { name = "bb"; tag = %q; architecture = %q; contents = [ testPkgs.bbDir ]; })`, tag, arch)
	}
	tests := []struct{ name, expr, want string }{
		{"empty", `nl.buildImageIndex { name = "multi"; images = [ ]; }`, "nixlayer.buildImageIndex multi: images is empty"},
		{"docker-archive", `nl.buildImageIndex { name = "multi"; format = "docker-archive"; images = [ ` + img("a", "amd64") + ` ]; }`,
			`nixlayer.buildImageIndex multi: format "docker-archive" cannot hold several platforms`},
		{"unknown format", `nl.buildImageIndex { name = "multi"; format = "oci"; images = [ ` + img("a", "amd64") + ` ]; }`,
			`nixlayer.buildImageIndex multi: unknown format "oci": use oci-layout or oci-archive`},
		{"same platform", `nl.buildImageIndex { name = "multi"; images = [ ` + img("a", "amd64") + " " + img("b", "x86_64-linux") + ` ]; }`,
			"images[0] (/nix/store/"},
		{"oci-archive of the same platform", `nl.buildImageIndex { name = "multi"; format = "oci-archive"; images = [ ` + img("a", "arm/v7") + " " + img("b", "armv7l-linux") + ` ]; }`,
			"are both for linux/arm/v7: give one image per platform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, err := testutil.NixBuildErr(t, tt.expr)
			if err == nil || !strings.Contains(errOut, tt.want) {
				t.Errorf("built (%v), want an error containing %q:\n%s", err, tt.want, errOut)
			}
		})
	}
}
