package pull

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/registry"
)

// fetchLocked fetches every blob of l as pullImageFromLock's fixed-output
// derivations do, into dir, and returns the AssembleSpec of the last step.
func fetchLocked(t *testing.T, l *Lock, dir string, f format.Format, opts ...registry.Option) *AssembleSpec {
	t.Helper()
	s := &AssembleSpec{LockFile: "test.lock.json", Manifest: l.Manifest.Digest, Blobs: map[string]string{}, FinalImageName: l.FinalImageName, FinalImageTag: l.FinalImageTag, Format: string(f)}
	for i, b := range append([]LockBlob{l.Manifest, l.Config}, l.Layers...) {
		out := filepath.Join(dir, fmt.Sprintf("blob-%d", i))
		bs := &BlobSpec{Spec: Spec{ImageName: l.ImageName, ImageDigest: l.ImageDigest}, Blob: b, Manifest: i == 0}
		if err := FetchLockedBlob(context.Background(), bs, out, opts...); err != nil {
			t.Fatalf("fetching %s: %v", b.Digest, err)
		}
		s.Blobs[b.Digest] = out
	}
	return s
}

// TestLockAssembleMatchesPull: an image fetched blob by blob from its lock
// file and assembled is, byte for byte, what Pull writes of the same image
// by digest, in every format, from an image and from a multi-platform
// index.
func TestLockAssembleMatchesPull(t *testing.T) {
	host, _ := registrytest.InProcess(t)
	registrytest.Put(t, host+"/app:v1", registrytest.RandomImage(t))
	arm := registrytest.FixedImage(t, "arm64")
	amd := registrytest.FixedImage(t, "amd64")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	registrytest.Put(t, host+"/multi:v1", idx)
	for _, ref := range []string{host + "/app:v1", host + "/multi:v1"} {
		for _, f := range []format.Format{format.DockerArchive, format.OCILayout, format.OCIArchive} {
			t.Run(ref+"/"+string(f), func(t *testing.T) {
				opts := []registry.Option{registry.WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64"})}
				l, err := MakeLock(context.Background(), ref, opts...)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(ref, "multi") {
					want, _ := arm.Digest()
					if l.Manifest.Digest != want.String() || l.Platform.Architecture != "arm64" || l.ImageDigest == l.Manifest.Digest {
						t.Errorf("lock of the index: %+v, want manifest %s (arm64) and the index digest", l, want)
					}
				}
				data, err := l.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := ParseLock(data, "x.lock.json"); err != nil {
					t.Fatalf("the lock MakeLock wrote does not read back: %v\n%s", err, data)
				}
				dir := t.TempDir()
				byLock, byDigest := filepath.Join(dir, "lock.out"), filepath.Join(dir, "pull.out")
				if err := Assemble(fetchLocked(t, l, dir, f), byLock); err != nil {
					t.Fatal(err)
				}
				req := Request{ImageName: l.ImageName, ImageDigest: l.ImageDigest, FinalImageName: l.FinalImageName, FinalImageTag: l.FinalImageTag, Format: f}
				if err := Pull(context.Background(), req, byDigest, opts...); err != nil {
					t.Fatal(err)
				}
				if a, b := narHash(t, byLock), narHash(t, byDigest); a != b {
					t.Errorf("assembled from the lock: %s, pulled: %s", a, b)
				}
			})
		}
	}
}

// TestParseLockErrors: each error names the file and the field.
func TestParseLockErrors(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	blob := func(digest string, size int64, mt string) string {
		return fmt.Sprintf(`{"digest":%q,"size":%d,"mediaType":%q}`, digest, size, mt)
	}
	lock := func(edit func(m map[string]any)) string {
		m := map[string]any{
			"version": 1, "imageName": "127.0.0.1:5000/app", "imageDigest": d, "finalImageName": "app", "finalImageTag": "v1",
			"platform": map[string]any{"os": "linux", "architecture": "amd64"},
			"manifest": json.RawMessage(blob(d, 500, "application/vnd.oci.image.manifest.v1+json")),
			"config":   json.RawMessage(blob(d, 100, "application/vnd.oci.image.config.v1+json")),
			"layers":   []json.RawMessage{json.RawMessage(blob(d, 1000, "application/vnd.oci.image.layer.v1.tar+gzip"))},
		}
		edit(m)
		data, _ := json.Marshal(m)
		return string(data)
	}
	many := make([]json.RawMessage, MaxLockLayers+1)
	for i := range many {
		many[i] = json.RawMessage(blob(d, 1, "x"))
	}
	cases := []struct{ name, text, want string }{
		{"good", lock(func(map[string]any) {}), ""},
		{"not JSON", "{ not json", "invalid character"},
		{"unknown field", lock(func(m map[string]any) { m["layerz"] = 1 }), `unknown field "layerz"`},
		{"version 2", lock(func(m map[string]any) { m["version"] = 2 }), "version is 2"},
		{"no imageName", lock(func(m map[string]any) { delete(m, "imageName") }), "imageName is missing"},
		{"no platform", lock(func(m map[string]any) { delete(m, "platform") }), "platform.os is missing"},
		{"sha512", lock(func(m map[string]any) {
			m["config"] = json.RawMessage(blob("sha512:"+strings.Repeat("ab", 64), 1, "x"))
		}), `config.digest "sha512:`},
		{"upper-case hex", lock(func(m map[string]any) {
			m["layers"] = []json.RawMessage{json.RawMessage(blob(strings.ToUpper(d), 1, "x"))}
		}), "layers[0].digest"},
		{"negative size", lock(func(m map[string]any) { m["layers"] = []json.RawMessage{json.RawMessage(blob(d, -1, "x"))} }), "layers[0].size is -1"},
		{"config over the limit", lock(func(m map[string]any) { m["config"] = json.RawMessage(blob(d, registry.MaxConfigBytes+1, "x")) }), "config.size"},
		{"no media type", lock(func(m map[string]any) { m["manifest"] = json.RawMessage(blob(d, 1, "")) }), "manifest.mediaType"},
		{"too many layers", lock(func(m map[string]any) { m["layers"] = many }), "1001 layers, over the limit of 1000"},
		{"bad finalImageTag", lock(func(m map[string]any) { m["finalImageTag"] = "no spaces" }), "finalImageName:finalImageTag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseLock([]byte(c.text), "base.lock.json")
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "base.lock.json") {
				t.Errorf("error %v, want one naming base.lock.json and %q", err, c.want)
			}
		})
	}
}

// TestReadLockHostile: a lock file is read within MaxLockBytes, from a
// regular file only, at once.
func TestReadLockHostile(t *testing.T) {
	dir := t.TempDir()
	sparse := filepath.Join(dir, "sparse.lock.json")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fifo := filepath.Join(dir, "fifo.lock.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	// A million layers: about 100 MB of JSON, over the size bound.
	million := filepath.Join(dir, "million.lock.json")
	big := `{"version":1,"layers":[` + strings.Repeat(`{"digest":"sha256:`+strings.Repeat("0", 64)+`","size":1,"mediaType":"x"},`, 1_000_000) + `]}`
	if err := os.WriteFile(million, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path, want string }{
		{"1 GiB sparse", sparse, "over the 1048576 byte limit"},
		{"FIFO", fifo, "not a regular file"},
		{"/dev/zero", "/dev/zero", "not a regular file"},
		{"a million layers", million, "over the 1048576 byte limit"},
		{"missing", filepath.Join(dir, "none.lock.json"), "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := ReadLock(c.path)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
				t.Errorf("ReadLock(%s) = %v, want an error naming it and %q", c.path, err, c.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("ReadLock(%s) took %s", c.path, d)
			}
		})
	}
}

// TestFetchLockedBlobErrors: a blob whose bytes differ from its digest,
// and a manifest that does, leave nothing at out; an assembly whose blobs
// do not match the manifest names the blob.
func TestFetchLockedBlobErrors(t *testing.T) {
	host, p := registrytest.InProcess(t)
	registrytest.Put(t, host+"/app:v1", registrytest.RandomImage(t))
	l, err := MakeLock(context.Background(), host+"/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	spec := func(b LockBlob, manifest bool) *BlobSpec {
		return &BlobSpec{Spec: Spec{ImageName: l.ImageName, ImageDigest: l.ImageDigest}, Blob: b, Manifest: manifest}
	}
	t.Run("corrupt blob", func(t *testing.T) {
		p.Inject(registrytest.Rule{Match: registrytest.BlobGet, Fault: registrytest.Corrupt})
		defer p.Clear()
		out := filepath.Join(t.TempDir(), "blob")
		err := FetchLockedBlob(context.Background(), spec(l.Layers[0], false), out, fast)
		testutil.WantErr(t, err, "checksum", l.Layers[0].Digest)
		testutil.AssertAbsent(t, out)
	})
	t.Run("manifest of another digest", func(t *testing.T) {
		other := l.Manifest
		other.Digest = l.Config.Digest
		out := filepath.Join(t.TempDir(), "manifest")
		err := FetchLockedBlob(context.Background(), spec(other, true), out, fast)
		if err == nil {
			t.Fatal("a manifest was fetched under another digest")
		}
		testutil.AssertAbsent(t, out)
	})
	t.Run("a blob the lock lacks", func(t *testing.T) {
		dir := t.TempDir()
		s := fetchLocked(t, l, dir, format.DockerArchive)
		delete(s.Blobs, l.Layers[1].Digest)
		out := filepath.Join(dir, "out")
		testutil.WantErr(t, Assemble(s, out), "test.lock.json", "the manifest lists blob "+l.Layers[1].Digest)
		testutil.AssertAbsent(t, out)
	})
	t.Run("a blob of another size", func(t *testing.T) {
		dir := t.TempDir()
		s := fetchLocked(t, l, dir, format.DockerArchive)
		if err := os.WriteFile(s.Blobs[l.Layers[0].Digest], []byte("short"), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out")
		testutil.WantErr(t, Assemble(s, out), "blob "+l.Layers[0].Digest, "manifest's")
		testutil.AssertAbsent(t, out)
	})
}
