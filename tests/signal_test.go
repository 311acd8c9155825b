package tests

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// bigGzipLayer returns a gzip layer (a few MiB) whose tar holds one file of
// n×64 MiB zeros: the same gzip member repeated (a gzip stream may be
// several members), so it is cheap to make and long to read.
func bigGzipLayer(t *testing.T, n int) []byte {
	t.Helper()
	member := func(b []byte) []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	const chunk = 64 << 20
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	if err := tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(n) * chunk}); err != nil {
		t.Fatal(err)
	}
	tw.Flush()
	zeros := member(make([]byte, chunk))
	out := member(hdr.Bytes())
	for range n {
		out = append(out, zeros...)
	}
	return append(out, member(make([]byte, 1024))...) // the tar's end
}

// TestExportStopsOnSIGTERM: `nixlayer export` of an image of 8 GiB stops
// within a second of SIGTERM, exits non-zero and leaves no output and no
// temporary file.
func TestExportStopsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	layer := bigGzipLayer(t, 128)
	cfg, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + strings.Repeat("0", 64)}}})
	man, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{"big:1"}, "Layers": []string{"layer.tar.gz"}}})
	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	for _, f := range []struct {
		name string
		data []byte
	}{{"manifest.json", man}, {"config.json", cfg}, {"layer.tar.gz", layer}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.data))})
		tw.Write(f.data)
	}
	tw.Close()
	img := filepath.Join(dir, "big.tar")
	if err := os.WriteFile(img, archive.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(dir, "out")
	os.Mkdir(outDir, 0o755)
	out := filepath.Join(outDir, "rootfs.tar")
	cmd := exec.Command(testutil.Exe(t), "export", "-o", out, img)
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	took := time.Since(sent)
	t.Logf("export of a %d-byte archive (8 GiB of content) stopped %v after SIGTERM: %v; stderr: %s", archive.Len(), took.Round(time.Millisecond), err, strings.TrimSpace(stderr.String()))
	if err == nil {
		t.Fatal("export succeeded: it was not stopped, or finished within a second")
	}
	if took > time.Second {
		t.Errorf("stopped %v after SIGTERM, want within 1s", took)
	}
	if left, _ := os.ReadDir(outDir); len(left) != 0 {
		t.Errorf("the output directory holds %v", left)
	}
	if !strings.Contains(stderr.String(), "context canceled") {
		t.Errorf("stderr %q does not say it was stopped", stderr.String())
	}
}
