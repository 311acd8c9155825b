package testutil

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// sharedLayer is an uncompressed layer tar holding one file of size
// bytes (zeros), and its digest.
func sharedLayer(t testing.TB, size int64) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: "data", Mode: 0o644, Size: size, Typeflag: tar.TypeReg, ModTime: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, zeros{}, size); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	return b.Bytes(), fmt.Sprintf("sha256:%x", sha256.Sum256(b.Bytes()))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// imageConfig is the config of the i-th image of a generated archive: its
// own (an env var), over the shared layer of diffID.
func imageConfig(i int, diffID string) []byte {
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Env": []string{fmt.Sprintf("I=%d", i)}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	return cfg
}

// ManyImagesArchive writes a docker-archive holding n images (many:0 …
// many:n-1) that share one layer of layerSize bytes, gzip-compressed as a
// whole when gz is set, and returns its path.
func ManyImagesArchive(t testing.TB, n int, layerSize int64, gz bool) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "many.tar")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w io.Writer = f
	var zw *gzip.Writer
	if gz {
		zw, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
		w = zw
	}
	tw := tar.NewWriter(w)
	add := func(name string, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(1, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	layer, diffID := sharedLayer(t, layerSize)
	add("layer.tar", layer)
	type entry struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	var manifest []entry
	for i := range n {
		cfg := imageConfig(i, diffID)
		name := fmt.Sprintf("%x.json", sha256.Sum256(cfg))
		add(name, cfg)
		manifest = append(manifest, entry{Config: name, RepoTags: []string{fmt.Sprintf("many:%d", i)}, Layers: []string{"layer.tar"}})
	}
	m, _ := json.Marshal(manifest)
	add("manifest.json", m)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// ManyImagesLayout writes an OCI layout whose index.json lists n images
// (tags 0 … n-1) sharing one small layer, and returns its directory.
func ManyImagesLayout(t testing.TB, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	put := func(data []byte) (string, int64) {
		d := fmt.Sprintf("%x", sha256.Sum256(data))
		if err := os.WriteFile(filepath.Join(blobs, d), data, 0o644); err != nil {
			t.Fatal(err)
		}
		return "sha256:" + d, int64(len(data))
	}
	layer, diffID := sharedLayer(t, 1024)
	ld, ls := put(layer)
	type desc struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int64             `json:"size"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	var index []desc
	for i := range n {
		cd, cs := put(imageConfig(i, diffID))
		man, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
			"config": desc{MediaType: "application/vnd.oci.image.config.v1+json", Digest: cd, Size: cs},
			"layers": []desc{{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: ld, Size: ls}}})
		md, ms := put(man)
		index = append(index, desc{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: md, Size: ms,
			Annotations: map[string]string{"org.opencontainers.image.ref.name": fmt.Sprint(i)}})
	}
	idx, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": index})
	if err := os.WriteFile(filepath.Join(dir, "index.json"), idx, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// AssertGrowth measures the CPU time of run (this process's, user and
// system: the load of other processes on the machine does not count) on
// the input setup makes for small and for large, the least of three runs
// each, the inputs made before, and fails the test when the large input
// takes more than maxRatio times the CPU time of the small one: growth
// measured against itself in one run, not against a clock. Tests using
// it must not run in parallel with others of their package.
func AssertGrowth[T any](t testing.TB, small, large int, maxRatio float64, setup func(int) T, run func(T)) (time.Duration, time.Duration) {
	t.Helper()
	best := func(n int) time.Duration {
		in := setup(n)
		var d time.Duration
		for i := range 3 {
			runtime.GC()
			start := cpuTime(t)
			run(in)
			if e := cpuTime(t) - start; i == 0 || e < d {
				d = e
			}
		}
		return d
	}
	ts, tl := best(small), best(large)
	ratio := float64(tl) / float64(max(ts, time.Millisecond))
	t.Logf("%d: %s, %d: %s of CPU (%.1fx for %.1fx the input)", small, ts.Round(time.Millisecond), large, tl.Round(time.Millisecond), ratio, float64(large)/float64(small))
	if ratio > maxRatio {
		t.Errorf("%d takes %.1fx the CPU time of %d (%s, %s): over %.1fx, not linear", large, ratio, small, tl, ts, maxRatio)
	}
	return ts, tl
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
