package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// formatCases are every output format with every layer compression.
var formatCases = func() (cs []struct{ format, compression string }) {
	for _, f := range []string{"docker-archive", "oci-layout", "oci-archive"} {
		for _, c := range []string{"gzip", "zstd", "none"} {
			cs = append(cs, struct{ format, compression string }{f, c})
		}
	}
	return cs
}()

// layeredExpr is a buildLayeredImage of hello and busybox with a format and
// a compression; tag and config are fixed so the streamed variant can be
// compared with it.
func layeredExpr(fn, name, format, compression string) string {
	return fmt.Sprintf(`(nl.%s {
  name = %q;
  tag = "v1";
  contents = [ testPkgs.hello testPkgs.bbBin ];
  config.Cmd = [ "/bin/hello" ];
  format = %q;
  compression = %q;
})`, fn, name, format, compression)
}

// inspectReport is the part of `nixlayer inspect --json` the tests read.
type inspectReport struct {
	Format string
	Layers []struct {
		Digest, DiffID, MediaType string
		Size                      int64
		StorePaths                []string
	}
}

func nixlayerInspect(t *testing.T, image string) inspectReport {
	t.Helper()
	out := testutil.Run(t, "", nil, testutil.Exe(t), "inspect", "--json", image)
	var r inspectReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("nixlayer inspect --json %s: %v\n%s", image, err, out)
	}
	return r
}

// layerOf returns the layer holding exactly the store path p.
func (r inspectReport) layerOf(t *testing.T, p string) int {
	t.Helper()
	for i, l := range r.Layers {
		if reflect.DeepEqual(l.StorePaths, []string{p}) {
			return i
		}
	}
	t.Fatalf("no layer holds exactly %s: %+v", p, r.Layers)
	return -1
}

// skopeoRef is the skopeo transport reference of an image built as format.
func skopeoRef(format, image string) string {
	switch format {
	case "oci-layout":
		return "oci:" + image + ":v1"
	case "oci-archive":
		return "oci-archive:" + image
	}
	return "docker-archive:" + image
}

// wantMediaType is the OCI layer media type of a compression.
var wantMediaType = map[string]string{
	"gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
	"zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
	"none": "application/vnd.oci.image.layer.v1.tar",
}

// wantDockerMediaType is the Docker layer media type of a compression.
var wantDockerMediaType = map[string]string{
	"gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip",
	"zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
	"none": "application/vnd.docker.image.rootfs.diff.tar",
}

func TestLayeredFormats(t *testing.T) {
	exprs := []string{"testPkgs.hello", "testPkgs.bbBin"}
	for _, c := range formatCases {
		exprs = append(exprs, layeredExpr("buildLayeredImage", "layered", c.format, c.compression))
	}
	paths := strings.Fields(testutil.NixBuild(t, "[ "+strings.Join(exprs, "\n")+" ]"))
	if len(paths) != len(exprs) {
		t.Fatalf("nix-build gave %d paths for %d expressions", len(paths), len(exprs))
	}
	hello, bbBin := paths[0], paths[1]
	for i, c := range formatCases {
		image := paths[i+2]
		t.Run(c.format+"/"+c.compression, func(t *testing.T) {
			r := nixlayerInspect(t, image)
			if r.Format != c.format {
				t.Errorf("inspect says format %q, want %q", r.Format, c.format)
			}
			// hello, bbBin, busybox each in a layer, and the root contents.
			if len(r.Layers) != 4 {
				t.Fatalf("%d layers, want 4: %+v", len(r.Layers), r.Layers)
			}
			r.layerOf(t, hello)
			r.layerOf(t, bbBin)
			want := wantDockerMediaType[c.compression]
			if c.format != "docker-archive" {
				want = wantMediaType[c.compression]
			}
			for i, l := range r.Layers {
				if l.MediaType != want {
					t.Errorf("layer %d media type %s, want %s", i+1, l.MediaType, want)
				}
			}
			checkWithSkopeoAndUmoci(t, c.format, c.compression, image, r, hello)
		})
	}
	t.Run("reproducible with nix-build --check", func(t *testing.T) {
		// Nix builds every image again and compares the outputs byte for
		// byte (the tree, for an OCI layout).
		testutil.NixBuild(t, "[ "+strings.Join(exprs[2:], "\n")+" ]", "--check")
	})
}

// checkWithSkopeoAndUmoci has skopeo read the image (checking every blob
// against its digest while copying it to an OCI layout) and umoci unpack
// that layout, and looks at the files of the unpacked root.
func checkWithSkopeoAndUmoci(t *testing.T, format, compression, image string, r inspectReport, hello string) {
	t.Helper()
	testutil.RequireTool(t, "skopeo")
	ref := skopeoRef(format, image)
	var info struct{ Layers []string }
	out := testutil.Run(t, "", nil, "skopeo", "inspect", ref)
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("skopeo inspect %s: %v\n%s", ref, err, out)
	}
	for i, l := range r.Layers {
		// skopeo names a docker-archive's layers by their diffIDs.
		want := l.Digest
		if format == "docker-archive" {
			want = l.DiffID
		}
		if i >= len(info.Layers) || info.Layers[i] != want {
			t.Fatalf("skopeo sees layers %q, nixlayer inspect %+v", info.Layers, r.Layers)
		}
	}
	testutil.RequireTool(t, "umoci")
	dir := t.TempDir()
	layout := filepath.Join(dir, "oci")
	args := []string{"copy", "--quiet"}
	if compression == "zstd" {
		// umoci 0.4 cannot read zstd layers: skopeo decompresses (and
		// checks) ours and recompresses them with gzip.
		args = append(args, "--dest-compress", "--dest-compress-format", "gzip")
	}
	testutil.Run(t, "", nil, "skopeo", append(args, ref, "oci:"+layout+":v1")...)
	bundle := filepath.Join(dir, "bundle")
	testutil.Run(t, "", nil, "umoci", "unpack", "--image", layout+":v1", bundle)
	rootfs := filepath.Join(bundle, "rootfs")
	got, err := os.ReadFile(filepath.Join(rootfs, hello[1:], "bin", "hello"))
	if err != nil || !bytes.Contains(got, []byte("Hello from nixlayer")) {
		t.Errorf("unpacked %s/bin/hello: %v %q", hello, err, got)
	}
	if target, err := os.Readlink(filepath.Join(rootfs, "bin", "hello")); err != nil || target != hello+"/bin/hello" {
		t.Errorf("unpacked /bin/hello links to %q (%v), want %s/bin/hello", target, err, hello)
	}
}

// TestLayeredSharedBlobs builds two different images that both hold the
// busybox store paths and checks that the layers of those paths are the
// same blob, byte for byte, in both.
func TestLayeredSharedBlobs(t *testing.T) {
	for _, c := range []struct{ format, compression string }{{"docker-archive", "gzip"}, {"oci-layout", "zstd"}} {
		t.Run(c.format+"/"+c.compression, func(t *testing.T) {
			expr := fmt.Sprintf(`[ testPkgs.bbBin
  (nl.buildLayeredImage { name = "one"; contents = [ testPkgs.hello ]; config.Cmd = [ "/bin/hello" ]; format = %[1]q; compression = %[2]q; })
  (nl.buildLayeredImage { name = "two"; tag = "other"; contents = [ testPkgs.bbBin testPkgs.twins ]; config.Env = [ "A=b" ]; format = %[1]q; compression = %[2]q; })
]`, c.format, c.compression)
			paths := strings.Fields(testutil.NixBuild(t, expr))
			if len(paths) != 3 {
				t.Fatalf("nix-build gave %q", paths)
			}
			bbBin, one, two := paths[0], paths[1], paths[2]
			r1, r2 := nixlayerInspect(t, one), nixlayerInspect(t, two)
			l1, l2 := r1.Layers[r1.layerOf(t, bbBin)], r2.Layers[r2.layerOf(t, bbBin)]
			if l1.Digest != l2.Digest || l1.Size != l2.Size || l1.DiffID != l2.DiffID {
				t.Fatalf("the busybox layer differs between the images: %+v vs %+v", l1, l2)
			}
			b1, b2 := blobBytes(t, c.format, one, l1.Digest), blobBytes(t, c.format, two, l2.Digest)
			if !bytes.Equal(b1, b2) || int64(len(b1)) != l1.Size {
				t.Fatalf("busybox blob: %d and %d bytes, not identical (manifest size %d)", len(b1), len(b2), l1.Size)
			}
			if r1.Layers[len(r1.Layers)-1].Digest == r2.Layers[len(r2.Layers)-1].Digest {
				t.Errorf("the images' root contents layers are the same blob; the test images should differ")
			}
		})
	}
}

// blobBytes returns the bytes of a blob of a docker-archive (the member
// named by manifest.json) or of an OCI layout.
func blobBytes(t *testing.T, format, image, digest string) []byte {
	t.Helper()
	hex := strings.TrimPrefix(digest, "sha256:")
	if format == "oci-layout" {
		data, err := os.ReadFile(filepath.Join(image, "blobs", "sha256", hex))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	var manifest dockerManifest
	if err := json.Unmarshal(archiveMember(t, image, "manifest.json"), &manifest); err != nil || len(manifest) != 1 {
		t.Fatalf("manifest.json of %s: %v", image, err)
	}
	for _, l := range manifest[0].Layers {
		if strings.Contains(l, hex) {
			return archiveMember(t, image, l)
		}
	}
	t.Fatalf("%s has no blob %s in %q", image, digest, manifest[0].Layers)
	return nil
}

// TestLayeredReproducibleAcrossCores builds every format and compression
// with the binary directly, once on one core and once on four, and
// compares the outputs byte for byte (the whole tree for an OCI layout).
func TestLayeredReproducibleAcrossCores(t *testing.T) {
	testutil.RequireTool(t, "nix-store")
	// big fills many zstd frames, compressed in parallel when there are cores.
	paths := strings.Fields(testutil.NixBuild(t, "[ testPkgs.hello testPkgs.bbBin testPkgs.twins testPkgs.big ]"))
	closure := testutil.Run(t, "", nil, "nix-store", append([]string{"--query", "--requisites"}, paths...)...)
	dir := t.TempDir()
	reg := filepath.Join(dir, "closure")
	dump := testutil.Run(t, "", nil, "nix-store", append([]string{"--dump-db"}, strings.Fields(closure)...)...)
	if err := os.WriteFile(reg, []byte(dump), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range formatCases {
		t.Run(c.format+"/"+c.compression, func(t *testing.T) {
			spec, err := json.Marshal(map[string]any{
				"name": "repro", "tag": "v1", "contents": paths[:2], "layering": "popularity", "maxLayers": 3,
				"format": c.format, "compression": c.compression, "config": map[string]any{"Cmd": []string{"/bin/hello"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			specFile := filepath.Join(t.TempDir(), "spec.json")
			if err := os.WriteFile(specFile, spec, 0o644); err != nil {
				t.Fatal(err)
			}
			var outs []string
			for _, procs := range []string{"1", "4"} {
				out := filepath.Join(t.TempDir(), "image")
				testutil.Run(t, "", []string{"GOMAXPROCS=" + procs}, testutil.Exe(t), "build-image", "--spec", specFile, "--closure", reg, "--out", out)
				outs = append(outs, out)
			}
			a, b := testutil.Tree(t, outs[0]), testutil.Tree(t, outs[1])
			if !reflect.DeepEqual(a, b) {
				t.Errorf("GOMAXPROCS=1 and 4 give different outputs in %v", testutil.TreeDiff(a, b))
			}
			// maxLayers 3: two store path layers and the root contents.
			if r := nixlayerInspect(t, outs[0]); len(r.Layers) != 3 {
				t.Errorf("%d layers with maxLayers = 3, want 3", len(r.Layers))
			}
		})
	}
}
