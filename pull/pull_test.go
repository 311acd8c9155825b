package pull

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/nix-community/go-nix/pkg/nar"
	"github.com/nix-community/go-nix/pkg/nixbase32"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
)

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// readBack opens what Pull wrote as an image.
func readBack(t *testing.T, p string, f format.Format) v1.Image {
	t.Helper()
	switch f {
	case format.DockerArchive:
		img, err := tarball.ImageFromPath(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		return img
	case format.OCIArchive:
		dir := t.TempDir()
		if out, err := exec.Command("tar", "-xf", p, "-C", dir).CombinedOutput(); err != nil {
			t.Fatalf("tar -xf %s: %v\n%s", p, err, out)
		}
		p = dir
	}
	idx, im := testutil.LayoutIndex(t, p)
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// checkImage reads every layer of img and checks its digests against the
// manifest and the config's diff_ids.
func checkImage(t *testing.T, img v1.Image) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != len(cf.RootFS.DiffIDs) {
		t.Fatalf("%d layers, %d diff_ids", len(ls), len(cf.RootFS.DiffIDs))
	}
	for i, l := range ls {
		for _, read := range []func() (io.ReadCloser, error){l.Compressed, l.Uncompressed} {
			rc, err := read()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			rc.Close()
		}
		if d, _ := l.DiffID(); d != cf.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: diffID %s, config says %s", i, d, cf.RootFS.DiffIDs[i])
		}
	}
}

func configName(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPullFormats(t *testing.T) {
	host, _ := registrytest.InProcess(t)
	for _, tc := range []struct {
		name string
		img  v1.Image
	}{{"fixed", registrytest.FixedImage(t, "amd64")}, {"gzip", registrytest.RandomImage(t)}} {
		digest := registrytest.Put(t, host+"/app/"+tc.name+":v1", tc.img)
		for _, f := range []format.Format{format.DockerArchive, format.OCILayout, format.OCIArchive} {
			t.Run(tc.name+"/"+string(f), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "image")
				req := Request{ImageName: host + "/app/" + tc.name, ImageDigest: digest.String(), FinalImageName: "final/name", FinalImageTag: "t1", Format: f}
				if err := Pull(context.Background(), req, out, fast); err != nil {
					t.Fatal(err)
				}
				got := readBack(t, out, f)
				checkImage(t, got)
				if g, w := configName(t, got), configName(t, tc.img); g != w {
					t.Errorf("config %s, want %s", g, w)
				}
				// go-containerregistry's tarball reader compresses
				// uncompressed layers, so only compressed ones keep their
				// digests through a docker-archive.
				if f != format.DockerArchive || tc.name == "gzip" {
					if g, w := strings.Join(registrytest.LayerDigests(t, got), " "), strings.Join(registrytest.LayerDigests(t, tc.img), " "); g != w {
						t.Errorf("layers %s, want %s", g, w)
					}
				}
				if f != format.DockerArchive {
					// OCI tools read OCI manifests: a Docker one is converted.
					if mt, _ := got.MediaType(); mt != types.OCIManifestSchema1 {
						t.Errorf("manifest media type %s in an OCI layout", mt)
					}
				}
				// The same pull again gives the same bytes.
				out2 := filepath.Join(t.TempDir(), "image")
				if err := Pull(context.Background(), req, out2, fast); err != nil {
					t.Fatal(err)
				}
				if f == format.OCILayout {
					if a, b := narHash(t, out), narHash(t, out2); a != b {
						t.Errorf("two pulls differ: %s, %s", a, b)
					}
				} else if a, b := fileSHA256(t, out), fileSHA256(t, out2); a != b {
					t.Errorf("two pulls differ: %s, %s", a, b)
				}
			})
		}
	}
}

func narHash(t *testing.T, p string) string {
	t.Helper()
	h := sha256.New()
	if err := nar.DumpPath(h, p); err != nil {
		t.Fatal(err)
	}
	return nixbase32.EncodeToString(h.Sum(nil))
}

// TestDockerArchiveGolden pins the bytes of a docker-archive: they must not
// change with nixlayer's or a library's version, as users pin them.
func TestDockerArchiveGolden(t *testing.T) {
	host, _ := registrytest.InProcess(t)
	digest := registrytest.Put(t, host+"/golden:v1", registrytest.FixedImage(t, "amd64"))
	out := filepath.Join(t.TempDir(), "image.tar")
	req := Request{ImageName: host + "/golden", ImageDigest: digest.String(), FinalImageName: "golden", FinalImageTag: "v1"}
	if err := Pull(context.Background(), req, out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.ModTime.Unix() != 1 || h.Uid != 0 || h.Gid != 0 || h.Mode != 0o644 {
			t.Errorf("%s: mtime %d uid %d gid %d mode %o, want 1 0 0 644", h.Name, h.ModTime.Unix(), h.Uid, h.Gid, h.Mode)
		}
		if h.Name == "manifest.json" {
			data, _ := io.ReadAll(tr)
			if !bytes.HasPrefix(data, []byte(`[{"Config":"`)) || !bytes.Contains(data, []byte(`"RepoTags":["golden:v1"]`)) {
				t.Errorf("manifest.json = %s", data)
			}
		}
	}
	if len(names) != 4 || names[3] != "manifest.json" || !strings.HasSuffix(names[0], ".json") && !strings.HasSuffix(names[0], ".tar") {
		t.Errorf("entries %v: want config, 2 layers, manifest.json, sorted", names)
	}
	const golden = "1e33784ce49c2cb151bcd3bbaa6b0fbc6f93d98fce41a507e10f31845a8eed18"
	if got := fileSHA256(t, out); got != golden {
		t.Errorf("sha256 of the docker-archive = %s, want %s", got, golden)
	}
}
