package tests

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestZstdManyFrames checks a zstd layer that spans many frames (see
// layers/zstd.go) with the decoders users have: the reference zstd CLI,
// skopeo and umoci, and containerd running a command that reads the file.
func TestZstdManyFrames(t *testing.T) {
	testutil.RequireTool(t, "zstd")
	image := func(format string) string {
		return fmt.Sprintf(`(nl.buildLayeredImage { name = "zstd-frames"; tag = "v1";
		  contents = [ testPkgs.big testPkgs.bbBin ]; config.Cmd = [ "/bin/md5sum" "/share/big/numbers" ];
		  format = %q; compression = "zstd"; })`, format)
	}
	paths := strings.Fields(testutil.NixBuild(t, "[ testPkgs.big "+image("oci-layout")+" "+image("oci-archive")+" ]"))
	if len(paths) != 3 {
		t.Fatalf("nix-build printed %q", paths)
	}
	big, ociLayout, ociArchive := paths[0], paths[1], paths[2]
	numbers, err := os.ReadFile(filepath.Join(big, "share", "big", "numbers"))
	if err != nil {
		t.Fatal(err)
	}

	r := nixlayerInspect(t, ociLayout)
	bigLayer := r.Layers[r.layerOf(t, big)]
	for _, l := range r.Layers {
		blob := filepath.Join(ociLayout, "blobs", "sha256", strings.TrimPrefix(l.Digest, "sha256:"))
		f, err := os.Open(blob)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("zstd", "-d", "-c")
		cmd.Stdin = f
		tarBytes, err := cmd.Output()
		f.Close()
		if err != nil {
			t.Fatalf("zstd -d %s: %v", blob, err)
		}
		if got := fmt.Sprintf("sha256:%x", sha256.Sum256(tarBytes)); got != l.DiffID {
			t.Errorf("zstd -d of layer %s gives a tar with %s, its diffID is %s", l.Digest, got, l.DiffID)
		}
		if l.Digest == bigLayer.Digest && len(tarBytes) < 3*4<<20 {
			t.Errorf("the layer of %s has a %d-byte tar: too small for many frames", big, len(tarBytes))
		}
	}

	// skopeo decompresses every layer to recompress it; umoci unpacks that.
	dir := t.TempDir()
	layout := filepath.Join(dir, "oci")
	testutil.Run(t, "", nil, "skopeo", "copy", "--quiet", "--dest-compress", "--dest-compress-format", "gzip",
		skopeoRef("oci-layout", ociLayout), "oci:"+layout+":v1")
	testutil.RequireTool(t, "umoci")
	bundle := filepath.Join(dir, "bundle")
	testutil.Run(t, "", nil, "umoci", "unpack", "--image", layout+":v1", bundle)
	got, err := os.ReadFile(filepath.Join(bundle, "rootfs", big[1:], "share", "big", "numbers"))
	if err != nil || !bytes.Equal(got, numbers) {
		t.Errorf("unpacked %s/share/big/numbers: %d bytes (%v), want the %d of the store", big, len(got), err, len(numbers))
	}

	ctr := startContainerd(t)
	ctr("images", "import", "--snapshotter", "native", "--base-name", "docker.io/library/zstd-frames", ociArchive)
	out := ctr("run", "--rm", "--snapshotter", "native", "docker.io/library/zstd-frames:v1", "nixlayer-zstd-frames")
	if want := fmt.Sprintf("%x  /share/big/numbers\n", md5.Sum(numbers)); out != want {
		t.Errorf("md5sum in containerd printed %q, want %q", out, want)
	}
}
