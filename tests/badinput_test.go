package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// Valid-looking store paths that exist nowhere.
const (
	badStoreA = "/nix/store/0c9hsfcbdnvywwclq1xxd1wbbi6ngvyd-nixlayer-test-a"
	badStoreB = "/nix/store/1b9p07z77phvv2hf6gm9f28syp39f1ag-nixlayer-test-b"
)

// buildImageRun runs `nixlayer build-image --closure CLOSURE --out OUT args`
// in a fresh directory with its own TMPDIR, and returns standard error, the
// exit error, and the directories that must hold nothing after a failure.
func buildImageRun(t *testing.T, closure string, args ...string) (out, stderr string, runErr error) {
	t.Helper()
	work := t.TempDir()
	outDir, tmp := filepath.Join(work, "out"), filepath.Join(work, "tmp")
	for _, d := range []string{outDir, tmp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out = filepath.Join(outDir, "image.tar.gz")
	args = append([]string{"build-image", "--closure", closure, "--out", out}, args...)
	_, stderr, runErr = testutil.RunErr(work, []string{"TMPDIR=" + tmp, "NIX_ATTRS_JSON_FILE=", "SOURCE_DATE_EPOCH="}, testutil.Exe(t), args...)
	if runErr != nil {
		for _, d := range []string{outDir, tmp} {
			if left, _ := os.ReadDir(d); len(left) != 0 {
				t.Errorf("%s holds %v after a failed build", d, left)
			}
		}
	}
	return out, stderr, runErr
}

// writeFixture writes content to a file named name in a temporary directory.
func writeFixture(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBuildImageBadInput runs the real binary on bad input: each case exits
// non-zero, says what is wrong naming the file, line, path or field, and
// leaves no output (nor a temporary file next to it).
func TestBuildImageBadInput(t *testing.T) {
	empty := writeFixture(t, "empty-closure", "")
	notThere := filepath.Join(t.TempDir(), "no-such-closure")
	closureDir := t.TempDir() // a directory: unreadable as a file, even for root
	graph := func(s string) string { return writeFixture(t, "closure", s) }

	badCount := graph(badStoreA + "\n\nthree\n")
	truncated := graph(badStoreA + "\n\n2\n" + badStoreA + "\n")
	notInClosure := graph(badStoreA + "\n\n1\n" + badStoreB + "\n")
	outside := graph("/tmp/nixlayer-test-a\n\n0\n")
	secondBad := graph(badStoreA + "\n\n0\n" + badStoreB + "\n\n1\n" + "/usr/bin/busybox\n")
	missingOnDisk := graph(badStoreA + "\n\n0\n")
	specUnknown := writeFixture(t, "spec.json", `{"name":"hello","confg":{}}`)
	specCmd := writeFixture(t, "spec.json", `{"name":"hello","config":{"Cmd":"/bin/hello"}}`)
	spec := func(s string) string { return writeFixture(t, "spec.json", s) }
	noBase := filepath.Join(t.TempDir(), "no-such-base.tar")

	tests := []struct {
		name    string
		closure string
		args    []string
		want    []string
	}{
		{name: "missing closure file", closure: notThere, args: []string{"--name", "hello"}, want: []string{notThere, "no such file"}},
		{name: "unreadable closure file", closure: closureDir, args: []string{"--name", "hello"}, want: []string{closureDir, "is a directory"}},
		{name: "bad reference count", closure: badCount, args: []string{"--name", "hello"}, want: []string{badCount, "line 3", `"three"`, badStoreA}},
		{name: "truncated record", closure: truncated, args: []string{"--name", "hello"}, want: []string{truncated, "line 4", "truncated", "reference 2 of 2"}},
		{name: "reference not in closure", closure: notInClosure, args: []string{"--name", "hello"}, want: []string{notInClosure, "line 4", badStoreB, "not in the closure"}},
		{name: "path outside the store", closure: outside, args: []string{"--name", "hello"}, want: []string{outside, "line 1", "/tmp/nixlayer-test-a", "/nix/store"}},
		{name: "bad reference on a later line", closure: secondBad, args: []string{"--name", "hello"}, want: []string{secondBad, "line 7", "/usr/bin/busybox"}},
		{name: "store path missing on disk", closure: missingOnDisk, args: []string{"--name", "hello"}, want: []string{badStoreA, "no such file"}},
		{name: "contents not in the closure", closure: empty, args: []string{"--name", "hello", "--contents", badStoreA}, want: []string{badStoreA, "not in the closure"}},
		{name: "invalid reference", closure: empty, args: []string{"--name", "hello world"}, want: []string{`"hello world:latest"`, "invalid image reference"}},
		{name: "invalid tag", closure: empty, args: []string{"--name", "hello", "--tag", "v1:x"}, want: []string{`"v1:x"`, "invalid image reference"}},
		{name: "no name", closure: empty, want: []string{"needs a name"}},
		{name: "unknown architecture", closure: empty, args: []string{"--name", "hello", "--architecture", "sparc"}, want: []string{`unknown architecture "sparc"`}},
		{name: "unknown format", closure: empty, args: []string{"--name", "hello", "--format", "oci"}, want: []string{`unknown format "oci"`}},
		{name: "unknown compression", closure: empty, args: []string{"--name", "hello", "--compression", "xz"}, want: []string{`unknown compression "xz"`}},
		{name: "config not an object", closure: empty, args: []string{"--name", "hello", "--config", `["/bin/hello"]`}, want: []string{"config must be an attribute set"}},
		{name: "Cmd as a string", closure: empty, args: []string{"--name", "hello", "--config", `{"Cmd":"/bin/hello"}`}, want: []string{"config.Cmd", "list of strings"}},
		{name: "Env without =", closure: empty, args: []string{"--name", "hello", "--config", `{"Env":["PATH"]}`}, want: []string{"config.Env[0]", `"PATH"`}},
		{name: "spec with an unknown field", closure: empty, args: []string{"--spec", specUnknown}, want: []string{specUnknown, `"confg"`}},
		{name: "spec with Cmd as a string", closure: empty, args: []string{"--spec", specCmd}, want: []string{"config.Cmd", "list of strings"}},
		{name: "maxLayers 1", closure: empty, args: []string{"--spec", spec(`{"name":"h","layering":"popularity","maxLayers":1}`)}, want: []string{"maxLayers 1 is too small", "at least 2"}},
		{name: "maxLayers 200", closure: empty, args: []string{"--spec", spec(`{"name":"h","layering":"popularity","maxLayers":200}`)}, want: []string{"maxLayers", "200", "127"}},
		{name: "unknown layering", closure: empty, args: []string{"--spec", spec(`{"name":"h","layering":"random","maxLayers":10}`)}, want: []string{`"random"`, "popularity", "size"}},
		{name: "base image missing", closure: empty, args: []string{"--spec", spec(`{"name":"h","fromImage":"` + noBase + `"}`)}, want: []string{noBase}},
		{name: "fromImageTag without fromImage", closure: empty, args: []string{"--spec", spec(`{"name":"h","fromImageTag":"v1"}`)}, want: []string{"fromImageTag", "without fromImage"}},
		{name: "stream of an OCI layout", closure: empty, args: []string{"--spec", spec(`{"name":"h","stream":true,"format":"oci-layout"}`)}, want: []string{"cannot be streamed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := buildImageRun(t, tt.closure, tt.args...)
			if err == nil {
				t.Fatalf("exit 0; want a failure. stderr:\n%s", stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "panic") || strings.Count(strings.TrimSpace(stderr), "\n") > 3 {
				t.Errorf("want a short error message, got:\n%s", stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("output %s exists after a failed build", out)
			}
		})
	}

	// The control: the same command line with good input succeeds, so the
	// failures above come from the bad part alone.
	t.Run("control", func(t *testing.T) {
		out, stderr, err := buildImageRun(t, empty, "--name", "hello", "--tag", "v1", "--config", `{"Cmd":["/bin/hello"],"Env":["A=b"]}`, "--architecture", "arm64")
		if err != nil {
			t.Fatalf("build-image: %v\n%s", err, stderr)
		}
		if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
			t.Fatalf("no output: %v", err)
		}
		if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 1 {
			t.Errorf("output directory holds %v, want the image alone", left)
		}
	})
}

// TestBuildImageBadConfigNix: through real Nix, config.Cmd given as a string
// fails the build with the config.Cmd message.
func TestBuildImageBadConfigNix(t *testing.T) {
	out, errOut, err := testutil.NixBuildErr(t, `nl.buildImage { name = "hello"; contents = [ testPkgs.hello ]; config.Cmd = "/bin/hello"; }`)
	if err == nil {
		t.Fatalf("nix-build succeeded with config.Cmd a string: %s", out)
	}
	for _, w := range []string{"config.Cmd", "list of strings"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("nix-build's error does not contain %q:\n%s", w, errOut)
		}
	}
}

// TestNixBadInput checks what the Nix functions refuse at evaluation time,
// before any builder runs.
func TestNixBadInput(t *testing.T) {
	const digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	for _, c := range []struct {
		name, expr, want string
	}{
		{"maxLayers 1", `nl.buildLayeredImage { name = "x"; maxLayers = 1; }`,
			"nixlayer.buildLayeredImage: maxLayers = 1: it must be between 2 and 127"},
		{"maxLayers 128", `nl.streamLayeredImage { name = "x"; maxLayers = 128; }`,
			"nixlayer.streamLayeredImage: maxLayers = 128: it must be between 2 and 127"},
		{"runAsRoot without a shell", `nl.buildImage { name = "x"; runAsRoot = "useradd app"; }`,
			"nixlayer.buildImage: runAsRoot needs a shell to run it: give `shell`"},
		{"fakeRootCommands without a shell", `nl.buildLayeredImage { name = "x"; fakeRootCommands = "chown 1 /x"; }`,
			"nixlayer.buildLayeredImage: fakeRootCommands needs a shell to run it: give `shell`"},
		{"runAsRoot of a layered image", `nl.buildLayeredImage { name = "x"; runAsRoot = "true"; }`,
			"runAsRoot is an argument of buildImage, buildImageWithNixDb, not of buildLayeredImage"},
		{"pullImage without a hash", pullNix(t, `rp.pullImage { imageName = "alpine"; imageDigest = "`+digest+`"; }`),
			"nixlayer.pullImage alpine: give sha256 (or hash); `nixlayer pin alpine` prints it"},
		{"pullImage format", pullNix(t, `rp.pullImage { imageName = "alpine"; imageDigest = "`+digest+`"; sha256 = "0000000000000000000000000000000000000000000000000000"; format = "tar"; }`),
			`nixlayer.pullImage alpine: unknown format "tar": use docker-archive, oci-layout or oci-archive`},
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
