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

// TestLargeLayers checks zstd and gzip layers that span many frames or
// blocks compressed in parallel (see layers/zstd.go and layers/compress.go)
// with the decoders users have: the reference zstd and gzip tools, skopeo
// and umoci, and containerd running a command that reads the file.
func TestLargeLayers(t *testing.T) {
	for _, compression := range []string{"zstd", "gzip"} {
		t.Run(compression, func(t *testing.T) { testLargeLayers(t, compression) })
	}
}

func testLargeLayers(t *testing.T, compression string) {
	testutil.RequireTool(t, compression)
	name := "large-" + compression
	image := func(format string) string {
		return fmt.Sprintf(`(nl.buildLayeredImage { name = %q; tag = "v1";
		  contents = [ testPkgs.big testPkgs.bbBin ]; config.Cmd = [ "/bin/md5sum" "/share/big/numbers" ];
		  format = %q; compression = %q; })`, name, format, compression)
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
		cmd := exec.Command(compression, "-d", "-c")
		cmd.Stdin = f
		tarBytes, err := cmd.Output()
		f.Close()
		if err != nil {
			t.Fatalf("%s -d %s: %v", compression, blob, err)
		}
		if got := fmt.Sprintf("sha256:%x", sha256.Sum256(tarBytes)); got != l.DiffID {
			t.Errorf("%s -d of layer %s gives a tar with %s, its diffID is %s", compression, l.Digest, got, l.DiffID)
		}
		if l.Digest == bigLayer.Digest && len(tarBytes) < 3*4<<20 {
			t.Errorf("the layer of %s has a %d-byte tar: too small for many frames or blocks", big, len(tarBytes))
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
	ctr("images", "import", "--snapshotter", "native", "--base-name", "docker.io/library/"+name, ociArchive)
	out := ctr("run", "--rm", "--snapshotter", "native", "docker.io/library/"+name+":v1", "nixlayer-"+name)
	if want := fmt.Sprintf("%x  /share/big/numbers\n", md5.Sum(numbers)); out != want {
		t.Errorf("md5sum in containerd printed %q, want %q", out, want)
	}
}
