package tests

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/provenance"
)

// Reproducibility under every Nix setting (README, "Guarantees"). Without
// the sandbox (Nix in Docker, most CI runners, macOS), a `nix-build
// --check` builds at another, temporary output path and rewrites that
// path's hash in the output afterwards, in the bytes as they are: a hash
// inside a compressed layer stays. A content-addressed build does the same
// on every build. So nothing in a layer may depend on $out, the output hash
// (the default tag), the image's name or its tag. The sandbox stays on for
// every first build here, as for every other test; the checks add the
// sandbox-off and content-addressed runs.

// noSandboxConfig is testutil.NixConfig with the sandbox off. A later
// NIX_CONFIG in a command's environment replaces the earlier one.
const noSandboxConfig = "substituters =\nsandbox = false\nbuild-users-group ="

// reproMatrix is every builder and output of nixlayer's Nix functions, in
// one list so that one nix-build builds it and one `nix-build --check`
// checks it. Most images have no tag: their tag is their output hash, the
// value a check without the sandbox changes.
const reproMatrix = `let
  sh = "${testPkgs.bbBin}/bin/sh";
  common = { contents = [ testPkgs.hello ]; config.Cmd = [ "/bin/hello" ]; };
  # The scripts write what they see of $out: nothing, or the check fails.
  script = "mkdir -p srv; echo x > srv/f; chown 1000:100 srv/f; mknod srv/null c 1 3; echo \"out=\${out:-}\" > srv/out";
  layer = nl.buildLayer { name = "repro-layer"; deps = [ testPkgs.bbBin ]; };
  layerZstd = nl.buildLayer { name = "repro-layer-zstd"; deps = [ testPkgs.twins ]; compression = "zstd"; };
  binSh = nl.binSh { shell = sh; };
  layered = nl.buildLayeredImage (common // { name = "repro-layered"; contents = [ testPkgs.hello nl.fakeNss binSh ];
    extraCommands = "mkdir -p etc; echo hi > etc/motd"; shell = sh; files."/etc/greeting" = "hello\n";
    users = [ { name = "app"; uid = 1000; home = "/home/app"; } ]; perms = [ { path = "/etc/greeting"; mode = "0600"; } ]; });
  stream = nl.streamLayeredImage (common // { name = "repro-stream"; shell = sh; fakeRootCommands = script; });
  streamed = testPkgs.run "repro-streamed.tar" "${stream} > $out" {};
  amd = nl.buildLayeredImage (common // { name = "repro-multi"; architecture = "amd64"; format = "oci-layout"; });
  arm = nl.buildLayeredImage (common // { name = "repro-multi"; architecture = "arm64"; format = "oci-layout"; compression = "zstd"; });
in [
  (nl.buildImage (common // { name = "repro-single"; }))
  (nl.buildImage (common // { name = "repro-single-zstd"; format = "oci-layout"; compression = "zstd"; }))
  (nl.buildImage (common // { name = "repro-single-none"; format = "oci-archive"; compression = "none"; }))
  (nl.buildImage (common // { name = "repro-runasroot"; shell = sh; runAsRoot = "mkdir -p /srv; echo x > /srv/f; chown 1000:100 /srv/f; echo \"out=\${out:-}\" > /srv/out"; }))
  layered
  (nl.buildLayeredImage (common // { name = "repro-oci-archive"; format = "oci-archive"; compression = "none"; }))
  (nl.buildLayeredImage (common // { name = "repro-fakeroot"; format = "oci-layout"; compression = "zstd"; shell = sh; fakeRootCommands = script; }))
  (nl.buildLayeredImage (common // { name = "repro-fakechroot"; contents = [ testPkgs.hello testPkgs.bbBin ]; shell = sh; enableFakechroot = true; fakeRootCommands = "mkdir -p /srv; echo x > /srv/f"; }))
  (nl.buildLayeredImage (common // { name = "repro-cached"; layers = [ layer layerZstd ]; }))
  stream
  streamed
  (nl.buildImageWithNixDb (common // { name = "repro-single-db"; }))
  (nl.buildLayeredImageWithNixDb (common // { name = "repro-layered-db"; compression = "zstd"; }))
  (nl.streamLayeredImage (common // { name = "repro-stream-db"; includeNixDB = true; compression = "gzip"; }))
  layer
  layerZstd
  nl.fakeNss
  binSh
  amd
  arm
  (nl.buildImageIndex { name = "repro-index"; images = [ amd arm ]; })
  (nl.buildImageIndex { name = "repro-index-archive"; format = "oci-archive"; images = [ amd arm ]; })
  (nl.mergeImages [ layered stream ])
  (nl.exportImage { fromImage = layered; })
  (nl.closureInfo { rootPaths = [ testPkgs.hello ]; })
  # Annotations (default tag, meta, a base) and provenance in every format.
  (nl.buildLayeredImage (common // { name = "repro-annotated"; fromImage = layered; annotations = { a = "b"; }; meta.description = "d"; }))
  (nl.buildLayeredImage (common // { name = "repro-annotated-oci"; format = "oci-layout"; fromImage = layered; annotations = { }; }))
  (nl.streamLayeredImage (common // { name = "repro-annotated-stream"; annotations = { }; }))
  (nl.buildImageIndex { name = "repro-annotated-index"; annotations = { a = "b"; }; images = [ amd arm ]; })
]`

// TestReproducibleWithoutSandbox builds reproMatrix in the sandbox, then
// checks every output with `nix-build --check` and the sandbox off: Nix
// builds each again at another path and fails if one byte differs.
func TestReproducibleWithoutSandbox(t *testing.T) {
	testutil.RequireTool(t, "nix-build")
	file := testutil.NixExprFile(t, reproMatrix)
	start := time.Now()
	outs := strings.Fields(testutil.Run(t, filepath.Dir(file), testutil.NixEnv(), "nix-build", file, "--no-out-link"))
	built := time.Since(start)
	start = time.Now()
	checkSandboxOnAndOff(t, file, outs)
	t.Logf("%d outputs: built in the sandbox in %v, checked with and without it in %v", len(outs), built.Round(time.Second), time.Since(start).Round(time.Second))
}

// checkSandboxOnAndOff rebuilds file's outputs (built, in the sandbox, as
// outs) with `nix-build --check` twice: in the sandbox, as most users
// build, then without it (after requireSandboxOff), as Nix in Docker and
// most CI runners build. Each must give the same bytes.
func checkSandboxOnAndOff(t *testing.T, file string, outs []string) {
	t.Helper()
	nixCheck(t, file, outs, testutil.NixConfig)
	requireSandboxOff(t)
	nixCheck(t, file, outs, noSandboxConfig)
}

// requireSandboxOff proves that noSandboxConfig turns the sandbox off: a
// build that sees the host's /usr/bin (absent from the sandbox) says so.
// Without it, the checks would prove nothing Nix's sandbox does not. The
// probe is the one build here that must run outside the sandbox only: it
// builds no output of nixlayer's.
func requireSandboxOff(t *testing.T) {
	t.Helper()
	probe := fmt.Sprintf(`testPkgs.run "sandbox-probe" "if [ -e /usr/bin/busybox ]; then echo off > $out; else echo on > $out; fi" { nonce = "%d"; }`, time.Now().UnixNano())
	file := testutil.NixExprFile(t, probe)
	out := strings.TrimSpace(testutil.Run(t, filepath.Dir(file), []string{"NIX_CONFIG=" + noSandboxConfig}, "nix-build", file, "--no-out-link"))
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != "off" {
		t.Fatalf("with %q the probe build says the sandbox is %s", noSandboxConfig, got)
	}
}

// nixCheck runs `nix-build --check` of file (whose outputs, built, are
// outs) with the Nix configuration config. On a difference it names the
// files of the two outputs (Nix keeps the other as <out>.check) that
// differ, then deletes the .check copies.
func nixCheck(t *testing.T, file string, outs []string, config string) {
	t.Helper()
	_, errOut, err := testutil.RunErr(filepath.Dir(file), []string{"NIX_CONFIG=" + config}, "nix-build", file, "--no-out-link", "--check", "--keep-failed", "--keep-going")
	if err == nil {
		return
	}
	for _, m := range keptDirRE.FindAllStringSubmatch(errOut, -1) {
		os.RemoveAll(m[1])
	}
	var diffs []string
	for _, out := range outs {
		if _, serr := os.Lstat(out + ".check"); serr != nil {
			continue
		}
		diffs = append(diffs, fmt.Sprintf("%s: %s", out, strings.Join(differingFiles(t, out, out+".check"), ", ")))
		os.RemoveAll(out + ".check")
	}
	t.Fatalf("nix-build --check with %q: %v\n%s\ndiffering files:\n%s", config, err, lastLines(errOut, 30), strings.Join(diffs, "\n"))
}

// keptDirRE finds the build directories --keep-failed kept.
var keptDirRE = regexp.MustCompile(`keeping build directory '([^']+)'`)

// differingFiles names the files (and tar members of files) whose bytes
// differ between two outputs.
func differingFiles(t *testing.T, a, b string) []string {
	t.Helper()
	sa, sb := fileSums(t, a), fileSums(t, b)
	var out []string
	for name, s := range sa {
		if sb[name] != s {
			out = append(out, name)
		}
	}
	for name := range sb {
		if _, ok := sa[name]; !ok {
			out = append(out, name)
		}
	}
	return out
}

// fileSums returns the sha256 of every regular file under root (root
// itself when it is a file), and of every member of those that are tars.
func fileSums(t *testing.T, root string) map[string][32]byte {
	t.Helper()
	sums := map[string][32]byte{}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p) // "." for root itself
		sums[rel] = sha256.Sum256(data)
		prefix := rel + ": "
		if rel == "." {
			prefix = ""
		}
		tr := tar.NewReader(bytes.NewReader(data))
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			m, _ := io.ReadAll(tr)
			sums[prefix+h.Name] = sha256.Sum256(m)
		}
		return nil
	})
	return sums
}

// caImages are the content-addressed variants and, with the same
// arguments, their input-addressed twins.
const caImages = `let
  common = { contents = [ testPkgs.hello ]; config.Cmd = [ "/bin/hello" ]; };
  layer = ca: nl.buildLayer { name = "repro-ca-layer"; deps = [ testPkgs.bbBin ]; contentAddressed = ca; };
  image = ca: nl.buildLayeredImageWithNixDb (common // { name = "repro-ca"; tag = "v1"; compression = "zstd"; contentAddressed = ca; layers = [ (layer ca) ]; });
  untagged = ca: nl.buildImage (common // { name = "repro-ca-untagged"; contentAddressed = ca; });
in [ (layer true) (image true) (untagged true) (layer false) (image false) (untagged false) ]`

// TestReproducibleContentAddressed builds a content-addressed image and
// layer (Nix builds them at a scratch path and rewrites its hash, as a
// check without the sandbox does, on every build) and checks them again,
// in the sandbox and without it. Each must be the bytes of its
// input-addressed twin: no placeholder or scratch hash inside a layer. The
// untagged image's tag is its own final output hash, and no other hash
// than its closure's is anywhere in it.
func TestReproducibleContentAddressed(t *testing.T) {
	testutil.RequireTool(t, "nix-build")
	const caFeature = "\nexperimental-features = ca-derivations"
	file := testutil.NixExprFile(t, caImages)
	start := time.Now()
	outs := strings.Fields(testutil.Run(t, filepath.Dir(file), []string{"NIX_CONFIG=" + testutil.NixConfig + caFeature}, "nix-build", file, "--no-out-link"))
	if len(outs) != 6 {
		t.Fatalf("nix-build gave %q, want 6 outputs", outs)
	}
	nixCheck(t, file, outs[:3], testutil.NixConfig+caFeature)
	nixCheck(t, file, outs[:3], noSandboxConfig+caFeature)
	t.Logf("built and checked twice in %v", time.Since(start).Round(time.Second))
	for i, what := range []string{"buildLayer", "buildLayeredImageWithNixDb", "buildImage (untagged)"} {
		ca, ia := outs[i], outs[i+3]
		if ca == ia {
			t.Fatalf("%s: the content-addressed output is the input-addressed one (%s): contentAddressed did nothing", what, ca)
		}
		if i == 2 {
			checkUntaggedCA(t, ca, ia)
			continue
		}
		if d := withoutStatements(t, ca, ia, differingFiles(t, ca, ia)); len(d) > 0 {
			t.Errorf("%s: the content-addressed output %s differs from the input-addressed %s in %v", what, ca, ia, d)
		}
	}
}

// withoutStatements is the differing files d of the outputs ca and ia
// without their provenance statements, when those differ only in what
// they must: they name the image's inputs by store path, and the cached
// layer under the content-addressed image is content-addressed too, at
// another path. Their subjects, the manifest, must be the same.
func withoutStatements(t *testing.T, ca, ia string, d []string) []string {
	t.Helper()
	var rest []string
	statements := false
	for _, f := range d {
		if strings.HasSuffix(f, ".intoto.json") {
			statements = true
		} else if f != "." {
			rest = append(rest, f)
		}
	}
	if !statements || len(rest) > 0 {
		return d
	}
	a, err := provenance.Of(ca)
	if err != nil {
		t.Fatal(err)
	}
	b, err := provenance.Of(ia)
	if err != nil {
		t.Fatal(err)
	}
	if subjectOf(t, a.JSON) != subjectOf(t, b.JSON) {
		return d
	}
	return nil
}

// subjectOf is the subject of the statement data, as JSON.
func subjectOf(t *testing.T, data []byte) string {
	t.Helper()
	var st struct{ Subject json.RawMessage }
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	return string(st.Subject)
}

// checkUntaggedCA: the content-addressed image without a tag is tagged
// with its final output hash, its layers are the input-addressed twin's,
// and the only store hashes anywhere in it are its closure's and its own.
func checkUntaggedCA(t *testing.T, ca, ia string) {
	t.Helper()
	img, err := base.Open(ca)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	own := strings.SplitN(filepath.Base(ca), "-", 2)[0]
	if want := "repro-ca-untagged:" + own; img.Ref() != want {
		t.Errorf("the content-addressed image is %q, want %q (its final output hash)", img.Ref(), want)
	}
	twin, err := base.Open(ia)
	if err != nil {
		t.Fatal(err)
	}
	defer twin.Close()
	if a, b := layerDigests(t, img), layerDigests(t, twin); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("content-addressed layers %v, input-addressed %v", a, b)
	}
	known := map[string]bool{own: true}
	for _, p := range strings.Fields(testutil.Run(t, "", testutil.NixEnv(), "nix-store", "-qR", ia)) {
		known[strings.SplitN(filepath.Base(p), "-", 2)[0]] = true
	}
	data, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	texts := [][]byte{data}
	for _, l := range img.Layers() {
		texts = append(texts, uncompressedLayer(t, l))
	}
	for _, text := range texts {
		for _, h := range nixHashRE.FindAll(text, -1) {
			if !known[string(h)] {
				t.Errorf("%s holds the hash %s, of no store path of its closure nor its own", ca, h)
			}
		}
	}
}

// nixHashRE matches a store path's hash part standing alone (a tag, a path
// component): 32 nix32 characters, no letter or digit either side.
var nixHashRE = regexp.MustCompile(`\b[0-9a-df-np-sv-z]{32}\b`)

func layerDigests(t *testing.T, img *base.Image) []v1.Hash {
	t.Helper()
	var out []v1.Hash
	for _, l := range img.Layers() {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func uncompressedLayer(t *testing.T, l v1.Layer) []byte {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestSameContentsShareLayers: two images of the same contents under
// other names and tags (one the default, the output hash) share every
// layer blob, SBOM, customisation files, Nix database and root-script
// output included; only their references differ.
func TestSameContentsShareLayers(t *testing.T) {
	const expr = `let
  args = { contents = [ testPkgs.hello ]; config.Cmd = [ "/bin/hello" ]; shell = "${testPkgs.bbBin}/bin/sh";
    extraCommands = "mkdir -p etc; echo hi > etc/motd"; users = [ { name = "app"; uid = 1000; } ]; };
  layered = args // { fakeRootCommands = "mkdir -p srv; echo x > srv/f; chown 1000:100 srv/f"; };
in [
  (nl.buildImage (args // { name = "share-a"; tag = "v1"; }))
  (nl.buildImage (args // { name = "registry.test/share-b"; }))
  (nl.buildLayeredImageWithNixDb (layered // { name = "share-a"; tag = "v1"; }))
  (nl.buildLayeredImageWithNixDb (layered // { name = "registry.test/share-b"; tag = "v2"; }))
  (nl.buildLayeredImage (layered // { name = "share-c"; format = "oci-layout"; compression = "zstd"; }))
  (nl.buildLayeredImage (layered // { name = "share-d"; tag = "other"; format = "oci-layout"; compression = "zstd"; }))
]`
	outs := strings.Fields(testutil.NixBuild(t, expr))
	if len(outs) != 6 {
		t.Fatalf("nix-build gave %q, want 6 outputs", outs)
	}
	for i, what := range []string{"buildImage", "buildLayeredImageWithNixDb", "buildLayeredImage oci-layout"} {
		a, b := openImage(t, outs[2*i]), openImage(t, outs[2*i+1])
		if a.Ref() == b.Ref() {
			t.Errorf("%s: both images are %q: the test needs two names", what, a.Ref())
		}
		da, db := layerDigests(t, a), layerDigests(t, b)
		if len(da) == 0 || fmt.Sprint(da) != fmt.Sprint(db) {
			t.Errorf("%s: %s has layers %v, %s has %v: want the same blobs", what, a.Ref(), da, b.Ref(), db)
		}
	}
}

func openImage(t *testing.T, path string) *base.Image {
	t.Helper()
	img, err := base.Open(path)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	t.Cleanup(func() { img.Close() })
	return img
}
