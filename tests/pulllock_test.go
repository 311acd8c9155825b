package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/pull"
)

// fetchedBlobs lists the blob and manifest derivations a nix-build ran
// (from its "these N derivations will be built" list).
func fetchedBlobs(errOut string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range regexp.MustCompile(`/nix/store/[a-z0-9]{32}-(?:blob|manifest)-[0-9a-f]{64}\.drv`).FindAllString(errOut, -1) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// TestPullImageFromLock pins an image of the real docker-registry on
// 127.0.0.1 into a lock file, builds pullImageFromLock in the sandbox (one
// fixed-output derivation a blob) and compares its output with pullImage's
// of the same image, byte for byte, in two formats. An image that shares
// all but one layer with it fetches that one layer and its config and
// manifest, nothing more.
func TestPullImageFromLock(t *testing.T) {
	exe := testutil.Exe(t)
	reg := registrytest.Start(t)
	base := registrytest.RandomImage(t) // new digests each run: the derivations must fetch
	registrytest.Put(t, reg.Host+"/locked:v1", base)
	dir := t.TempDir()
	lock := filepath.Join(dir, "base.lock.json")
	testutil.Run(t, "", nil, exe, "pin", "--quiet", "--insecure", "--lock", lock, reg.Host+"/locked:v1")
	l, err := pull.ReadLock(lock)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Layers) != 3 || l.Platform.OS == "" || l.FinalImageTag != "v1" {
		t.Errorf("lock file: %+v", l)
	}
	for _, format := range []string{"docker-archive", "oci-archive"} {
		t.Run(format, func(t *testing.T) {
			var p pull.Pinned
			js := testutil.Run(t, "", nil, exe, "pin", "--quiet", "--insecure", "--json", "--format", format, reg.Host+"/locked:v1")
			if err := json.Unmarshal([]byte(js), &p); err != nil {
				t.Fatalf("pin printed %q: %v", js, err)
			}
			byDigest := testutil.NixBuild(t, pullNix(t, fmt.Sprintf(`rp.pullImage { imageName = %q; imageDigest = %q; sha256 = %q; finalImageName = %q; finalImageTag = %q; format = %q; tlsVerify = false; }`,
				p.ImageName, p.ImageDigest, p.Sha256, p.FinalImageName, p.FinalImageTag, format)))
			expr := pullNix(t, fmt.Sprintf(`rp.pullImageFromLock { lockFile = %s; format = %q; tlsVerify = false; }`, lock, format))
			out, errOut, err := testutil.NixBuildErr(t, expr)
			if err != nil {
				t.Fatalf("pullImageFromLock: %v\n%s", err, errOut)
			}
			// The assembly again, in the sandbox and without it (at a
			// temporary path): the same bytes.
			checkSandboxOnAndOff(t, testutil.NixExprFile(t, expr), []string{out})
			a, _ := os.ReadFile(byDigest)
			b, _ := os.ReadFile(out)
			if len(a) == 0 || !bytes.Equal(a, b) {
				t.Errorf("pullImageFromLock wrote %s (%d bytes), pullImage %s (%d bytes): they differ", out, len(b), byDigest, len(a))
			}
		})
	}

	t.Run("an update fetches only what changed", func(t *testing.T) {
		layer, err := random.Layer(1024, "application/vnd.docker.image.rootfs.diff.tar.gzip")
		if err != nil {
			t.Fatal(err)
		}
		updated, err := mutate.AppendLayers(base, layer)
		if err != nil {
			t.Fatal(err)
		}
		registrytest.Put(t, reg.Host+"/locked:v2", updated)
		lock2 := filepath.Join(dir, "v2.lock.json")
		testutil.Run(t, "", nil, exe, "pin", "--quiet", "--insecure", "--lock", lock2, reg.Host+"/locked:v2")
		_, errOut, err := testutil.NixBuildErr(t, pullNix(t, fmt.Sprintf(`rp.pullImageFromLock { lockFile = %s; tlsVerify = false; }`, lock2)))
		if err != nil {
			t.Fatalf("pullImageFromLock: %v\n%s", err, errOut)
		}
		// The new layer, the new config and the new manifest.
		if got := fetchedBlobs(errOut); len(got) != 3 {
			t.Errorf("nix-build fetched %d blobs, want 3 (layer, config, manifest): %v", len(got), got)
		}
	})

	t.Run("bad lock files", func(t *testing.T) {
		good, err := os.ReadFile(lock)
		if err != nil {
			t.Fatal(err)
		}
		hex := strings.TrimPrefix(l.Layers[0].Digest, "sha256:")
		many := `{"digest":"` + l.Layers[0].Digest + `","size":1,"mediaType":"x"}`
		for _, c := range []struct{ name, text, want string }{
			{"not JSON", "{ not json", "parse error"},
			{"no layers", strings.Replace(string(good), `"layers"`, `"layerz"`, 1), "layers is missing"},
			{"sha512 digest", strings.Replace(string(good), "sha256:"+hex, "sha512:"+hex, 1), `layers[0].digest "sha512:` + hex + `" is not sha256`},
			{"no size", strings.Replace(string(good), `"size"`, `"sise"`, 1), "size is missing"},
			{"1001 layers", strings.Replace(string(good), `"layers": [`, `"layers": [`+strings.Repeat(many+",", 1001), 1), "1004 layers, over the limit of 1000"},
		} {
			t.Run(c.name, func(t *testing.T) {
				bad := filepath.Join(t.TempDir(), "bad.lock.json")
				if err := os.WriteFile(bad, []byte(c.text), 0o644); err != nil {
					t.Fatal(err)
				}
				// Nix cannot catch fromJSON's error: --show-trace shows the
				// context that names the file.
				_, errOut, err := testutil.NixBuildErr(t, pullNix(t, fmt.Sprintf(`rp.pullImageFromLock { lockFile = %s; tlsVerify = false; }`, bad)), "--show-trace")
				if err == nil || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "bad.lock.json") {
					t.Errorf("pullImageFromLock of a lock file with %s: %v, want an error naming the file and %q:\n%s", c.name, err, c.want, errOut)
				}
			})
		}
	})
}
