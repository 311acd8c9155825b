package tests

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestBaseNixSymlinkRefused: a base image whose /nix is a symlink
// (nix -> opt/nix, as some distributions' images have) is refused by a
// build in the sandbox, with the README's message: the link, why, and what
// to do instead; no image is made.
func TestBaseNixSymlinkRefused(t *testing.T) {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	for _, h := range []*tar.Header{
		{Name: "opt/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "opt/nix/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "opt/nix/store/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "nix", Typeflag: tar.TypeSymlink, Linkname: "opt/nix", Mode: 0o777},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	base := testutil.OneLayerArchive(t, "linked/base:v1", func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layer.Bytes())), nil })
	for _, fn := range []string{"buildImage", "buildLayeredImage"} {
		t.Run(fn, func(t *testing.T) {
			out, errOut, err := testutil.NixBuildErr(t, `nl.`+fn+` { name = "on-linked-nix"; tag = "v1"; fromImage = `+base+`; contents = [ testPkgs.hello ]; }`)
			for _, w := range []string{`the base image (fromImage) has /nix as a symlink to "opt/nix"`, "use a base whose /nix is a directory", "unsafe"} {
				if err == nil || !strings.Contains(errOut, w) {
					t.Errorf("build on a base whose /nix is a symlink: %v, error does not contain %q:\n%s", err, w, errOut)
				}
			}
			if out != "" {
				if _, err := os.Lstat(out); err == nil {
					t.Errorf("the build left %s", out)
				}
			}
		})
	}
}
