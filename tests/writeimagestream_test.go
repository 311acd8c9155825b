package tests

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/compression"
	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestWriteImageStream builds writeImageStream of a streamLayeredImage
// with each compressor and checks the store file: its name, its
// compression, and that decompressed it is byte for byte what the stream
// script writes; skopeo reads the uncompressed one as a docker-archive.
func TestWriteImageStream(t *testing.T) {
	const stream = `(nl.streamLayeredImage { name = "wis"; tag = "v1"; contents = [ testPkgs.hello ]; config.Cmd = [ "/bin/hello" ]; })`
	cases := []struct {
		compressor, suffix string
		want               compression.Compression
	}{
		{"none", ".tar", compression.None},
		{"gz", ".tar.gz", compression.Gzip},
		{"zstd", ".tar.zst", compression.Zstd},
	}
	exprs := []string{stream}
	for _, c := range cases {
		exprs = append(exprs, `(nl.writeImageStream { name = "wis"; stream = `+stream+`; compressor = "`+c.compressor+`"; meta.description = "d"; })`)
	}
	out := nixBuildAll(t, exprs)
	streamed := filepath.Join(t.TempDir(), "streamed.tar")
	testutil.Run(t, "", nil, out[0], "-o", streamed)
	want, err := os.ReadFile(streamed)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(c.compressor, func(t *testing.T) {
			file := out[i+1]
			if !strings.HasSuffix(file, "-wis"+c.suffix) {
				t.Errorf("output %s, want a name ending in wis%s", file, c.suffix)
			}
			comp, rc := testutil.Decompressed(t, file)
			defer rc.Close()
			if comp != c.want {
				t.Errorf("%s is compressed %q, want %q", file, comp, c.want)
			}
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s decompressed (%d bytes) differs from the stream script's archive (%d bytes)", file, len(got), len(want))
			}
		})
	}
	{
		testutil.RequireTool(t, "skopeo")
		inspect := testutil.Run(t, "", nil, "skopeo", "inspect", "--config", "docker-archive:"+out[1])
		if !strings.Contains(inspect, `"/bin/hello"`) {
			t.Errorf("skopeo inspect of %s: no Cmd /bin/hello in\n%s", out[1], inspect)
		}
	}
	meta := testutil.NixExprFile(t, `(nl.writeImageStream { name = "wis"; stream = `+stream+`; meta.description = "the image"; }).meta.description`)
	if got := strings.TrimSpace(testutil.Run(t, "", testutil.NixEnv(), "nix-instantiate", "--eval", meta)); got != `"the image"` {
		t.Errorf("meta.description: %s, want \"the image\"", got)
	}
	_, errOut, err := testutil.NixBuildErr(t, `nl.writeImageStream { name = "wis"; stream = `+stream+`; compressor = "xz"; }`)
	testutil.WantErr(t, err, "exit status")
	if !strings.Contains(errOut, `writeImageStream wis: unknown compressor "xz"`) {
		t.Errorf("compressor xz: error does not name it:\n%s", errOut)
	}
}

// TestWriteImageStreamAttacks: a stream that is no stream script (a
// directory, a foreign script) fails the build with an error naming it;
// compressing the whole archive of a 13 MB store path keeps the peak RSS
// of `nixlayer stream --compressor` bounded, and a failed stream leaves
// nothing at -o.
func TestWriteImageStreamAttacks(t *testing.T) {
	for _, c := range []struct{ name, stream, want string }{
		{"directory", `testPkgs.hello`, "hello-1.0"},
		{"foreign script", `(testPkgs.writeScript "fake-stream" "#!/bin/sh\necho hi\n")`, "fake-stream"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, err := testutil.NixBuildErr(t, `nl.writeImageStream { name = "bad"; stream = `+c.stream+`; compressor = "gz"; }`)
			if err == nil || !strings.Contains(stderr, c.want) {
				t.Errorf("writeImageStream of %s: %v\n%s\nwant an error naming %q", c.stream, err, stderr, c.want)
			}
		})
	}
	script := testutil.NixBuild(t, `nl.streamLayeredImage { name = "big"; tag = "v1"; contents = [ testPkgs.big ]; }`)
	dir := t.TempDir()
	for _, comp := range []string{"gz", "zstd"} {
		out := filepath.Join(dir, "big."+comp)
		cmd, rss := testutil.MeasuredCommand(t, true, testutil.Exe(t), "stream", "--compressor", comp, "-o", out, script)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("stream --compressor %s: %v\n%s", comp, err, b)
		}
		peak := testutil.PeakRSSMiB(cmd, rss)
		t.Logf("stream --compressor %s of a 13 MB store path: peak RSS %d MiB", comp, peak)
		if peak > 160 {
			t.Errorf("stream --compressor %s: peak RSS %d MiB, want at most 160", comp, peak)
		}
	}
	// A stream whose store path is gone: an error, nothing at -o.
	out := filepath.Join(dir, "gone.tar.gz")
	fake := filepath.Join(dir, "script")
	if err := os.WriteFile(fake, []byte("#!"+testutil.Exe(t)+" stream\n{}\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := testutil.RunErr("", nil, testutil.Exe(t), "stream", "--compressor", "gz", "-o", out, fake)
	if err == nil || !strings.Contains(stderr, fake) {
		t.Errorf("stream of a damaged script: %v\n%s\nwant an error naming %s", err, stderr, fake)
	}
	if _, err := os.Lstat(out); !os.IsNotExist(err) {
		t.Errorf("%s exists after a failed stream (%v)", out, err)
	}
}
