package tests

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
)

// tamperedArchive rewrites the docker-archive src (a nixlayer build, maybe
// compressed) into a new uncompressed tar after change edits its members'
// contents, given the manifest's layer names, bottom first.
func tamperedArchive(t *testing.T, src string, change func(layers []string, data map[string][]byte)) string {
	t.Helper()
	m, _ := testutil.DockerArchive(t, src)
	_, rc := testutil.Decompressed(t, src)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var hdrs []*tar.Header
	data := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		hdrs, data[h.Name] = append(hdrs, h), b
	}
	change(m[0].Layers, data)
	p := filepath.Join(t.TempDir(), "tampered.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for _, h := range hdrs {
		h.Size = int64(len(data[h.Name]))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(data[h.Name])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// regzip decompresses a gzip layer, changes one byte of its tar and
// compresses it again: a valid gzip stream whose content is not the layer's.
func regzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 1
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(raw)
	zw.Close()
	return out.Bytes()
}

// TestTamperedLayersNeverLeave builds an image with Nix, tampers with its
// docker-archive (a layer whose gzip stream is valid but holds other
// content, two layers swapped, a byte flipped inside a gzip stream, a gzip
// stream cut short), and pushes each to the real docker-registry and into
// a real containerd and a podman store, merges it and indexes it: each fails naming the
// image file and the layer (and both digests where both are known), exits
// non-zero, leaves nothing at the destination and no process, within
// bounded memory.
func TestTamperedLayersNeverLeave(t *testing.T) {
	img := strings.TrimSpace(testutil.NixBuild(t, `nl.buildLayeredImage {
  name = "diffid-img"; tag = "v1"; contents = [ testPkgs.hello testPkgs.bbBin ]; config.Cmd = [ "/bin/hello" ];
}`))
	tampered := []struct {
		name     string
		change   func(layers []string, data map[string][]byte)
		digests  bool // the error names the diffID found and the config's
		mismatch string
	}{
		{"other content in a valid gzip stream", func(ls []string, d map[string][]byte) { d[ls[0]] = regzip(t, d[ls[0]]) }, true, "uncompressed content has diffID"},
		{"two layers swapped", func(ls []string, d map[string][]byte) { d[ls[0]], d[ls[1]] = d[ls[1]], d[ls[0]] }, true, "uncompressed content has diffID"},
		{"a byte flipped inside a gzip stream", func(ls []string, d map[string][]byte) {
			b := append([]byte(nil), d[ls[0]]...)
			b[len(b)/2] ^= 0x40
			d[ls[0]] = b
		}, false, "decompressing layer 0"},
		{"a gzip stream cut short", func(ls []string, d map[string][]byte) { d[ls[0]] = d[ls[0]][:len(d[ls[0]])/2] }, false, "decompressing layer 0"},
	}
	reg := registrytest.Start(t)
	sock, ctr := startContainerdAt(t)
	ctrEnv := []string{"CONTAINERD_ADDRESS=" + sock, "CONTAINERD_NAMESPACE=nixlayer-test", "CONTAINERD_SNAPSHOTTER=native"}
	podEnv := podmanStore(t)
	for _, c := range tampered {
		t.Run(c.name, func(t *testing.T) {
			bad := tamperedArchive(t, img, c.change)
			out := filepath.Join(t.TempDir(), "out")
			runs := []struct {
				what string
				env  []string
				args []string
			}{
				{"push to a registry", nil, []string{"push", "--insecure", "--quiet", "--no-sbom", bad, reg.Host + "/tampered/app:v1"}},
				{"push into containerd", ctrEnv, []string{"push", "--quiet", bad, "containerd:tampered/app:v1"}},
				{"push into podman", podEnv, []string{"push", "--quiet", bad, "containers-storage:tampered/app:v1"}},
				{"merge-images", nil, []string{"merge-images", "--out", out, bad}},
				{"build-index", nil, []string{"build-index", "--name", "tampered/index", "--out", out, bad}},
			}
			for _, r := range runs {
				mark := marker(t)
				m := testutil.RunRSS(t, 2*time.Minute, append(r.env, mark), testutil.Exe(t), r.args...)
				if left := leftovers(t, mark); len(left) > 0 {
					t.Errorf("%s left processes running: %v", r.what, left)
				}
				if m.Err == nil {
					t.Errorf("%s of a tampered archive succeeded", r.what)
					continue
				}
				for _, w := range []string{bad, c.mismatch} {
					if !strings.Contains(m.Stderr, w) {
						t.Errorf("%s: the error lacks %q:\n%s", r.what, w, m.Stderr)
					}
				}
				if c.digests && strings.Count(m.Stderr, "sha256:") < 2 {
					t.Errorf("%s: the error does not name both digests:\n%s", r.what, m.Stderr)
				}
				if m.PeakRSS > 200<<20 {
					t.Errorf("%s: peak RSS %d MiB", r.what, m.PeakRSS>>20)
				}
				if _, err := os.Lstat(out); err == nil {
					t.Errorf("%s left %s", r.what, out)
				}
			}
			if _, _, err := testutil.RunErr("", nil, "skopeo", "inspect", "--raw", "--tls-verify=false", "docker://"+reg.Host+"/tampered/app:v1"); err == nil {
				t.Error("the registry serves a manifest for the tampered image")
			}
			if ls := ctr("images", "ls", "-q"); strings.Contains(ls, "tampered") {
				t.Errorf("containerd lists the tampered image:\n%s", ls)
			}
			if ls := testutil.Run(t, "", podEnv, "podman", "images", "--format", "{{.Repository}}"); strings.Contains(ls, "tampered") {
				t.Errorf("podman lists the tampered image:\n%s", ls)
			}
		})
	}
	t.Run("OCI layout whose diff_ids are swapped", func(t *testing.T) {
		bad := swappedLayout(t, img)
		runs := []struct {
			what string
			env  []string
			args []string
		}{
			{"push to a registry", nil, []string{"push", "--insecure", "--quiet", "--no-sbom", bad, reg.Host + "/tampered/oci:v1"}},
			{"push into containerd", ctrEnv, []string{"push", "--quiet", bad, "containerd:tampered/oci:v1"}},
			{"push into podman", podEnv, []string{"push", "--quiet", bad, "containers-storage:tampered/oci:v1"}},
		}
		for _, r := range runs {
			_, errOut, err := runMarked(t, r.env, testutil.Exe(t), r.args...)
			if err == nil {
				t.Errorf("%s of a tampered layout succeeded", r.what)
				continue
			}
			for _, w := range []string{bad, "uncompressed content has diffID", "the config says"} {
				if !strings.Contains(errOut, w) {
					t.Errorf("%s: the error lacks %q:\n%s", r.what, w, errOut)
				}
			}
		}
		if _, _, err := testutil.RunErr("", nil, "skopeo", "inspect", "--raw", "--tls-verify=false", "docker://"+reg.Host+"/tampered/oci:v1"); err == nil {
			t.Error("the registry serves a manifest for the tampered layout")
		}
		if ls := ctr("images", "ls", "-q"); strings.Contains(ls, "tampered") {
			t.Errorf("containerd lists the tampered image:\n%s", ls)
		}
		if ls := testutil.Run(t, "", podEnv, "podman", "images", "--format", "{{.Repository}}"); strings.Contains(ls, "tampered") {
			t.Errorf("podman lists the tampered image:\n%s", ls)
		}
	})
	t.Run("the untouched archive goes through", func(t *testing.T) {
		if _, errOut, err := runMarked(t, nil, testutil.Exe(t), "push", "--insecure", "--quiet", "--no-sbom", img, reg.Host+"/good/app:v1"); err != nil {
			t.Fatalf("push: %v\n%s", err, errOut)
		}
		if _, errOut, err := runMarked(t, ctrEnv, testutil.Exe(t), "push", "--quiet", img, "containerd:good/app:v1"); err != nil {
			t.Fatalf("push into containerd: %v\n%s", err, errOut)
		}
		if _, errOut, err := runMarked(t, podEnv, testutil.Exe(t), "push", "--quiet", img, "containers-storage:good/app:v1"); err != nil {
			t.Fatalf("push into podman: %v\n%s", err, errOut)
		}
		if ls := testutil.Run(t, "", podEnv, "podman", "images", "--format", "{{.Repository}}"); !strings.Contains(ls, "good/app") {
			t.Errorf("podman lists no good/app:\n%s", ls)
		}
	})
}

// swappedLayout writes the image of the docker-archive src as an OCI
// layout whose config lists the first two diffIDs swapped: every blob
// matches its descriptor, only the decompressed layers tell.
func swappedLayout(t *testing.T, src string) string {
	t.Helper()
	img, err := tarball.ImageFromPath(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	ids := cfg.RootFS.DiffIDs
	ids[0], ids[1] = ids[1], ids[0]
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return dir
}
