package base

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// zeroLayer returns a gzip layer blob (small) whose tar holds name with
// size zero bytes, and the tar's diffID, without holding the tar.
func zeroLayer(t testing.TB, name string, size int64) ([]byte, v1.Hash) {
	t.Helper()
	var blob bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&blob, gzip.BestCompression)
	h := sha256.New()
	tw := tar.NewWriter(io.MultiWriter(zw, h))
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: size}); err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(zeros)) {
		if _, err := tw.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return blob.Bytes(), v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

// peakRSS reads this process's peak resident set size in KiB.
func peakRSS(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// TestHelperKeptFile is run by TestKeptFileMemory in a process of its
// own: it reads a kept file of the image named by $NIXLAYER_KEPT_IMAGE and
// prints its peak RSS.
func TestHelperKeptFile(t *testing.T) {
	p := os.Getenv("NIXLAYER_KEPT_IMAGE")
	if p == "" {
		// Not a test of its own but the helper process's entry (as Go's
		// TestHelperProcess): outside TestKeptFileMemory's child it passes
		// without doing anything.
		return
	}
	x, err := openIndex(t, p, WithKeep("etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	var n countWriter
	if _, err := x.CopyContent("etc/passwd", &n, 2<<30); err != nil {
		t.Fatal(err)
	}
	_, _, cerr := x.Content("etc/passwd", 16<<20)
	fmt.Printf("copied=%d contentErr=%v peakKiB=%d\n", n, cerr, peakRSS(t))
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// TestKeptFileMemory: a small gzip base whose /etc/passwd is 1 GiB of
// zeros. Indexing it and copying the kept file must not grow memory with
// its size, and reading it into memory past a limit is an ErrLimit error.
func TestKeptFileMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses 3 GiB")
	}
	blob, diffID := zeroLayer(t, "etc/passwd", 1<<30)
	p := file(t, spec{layers: [][]byte{blob}, diffIDs: []v1.Hash{diffID}}.docker(t))
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperKeptFile$", "-test.v")
	cmd.Env = append(os.Environ(), "NIXLAYER_KEPT_IMAGE="+p)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var copied, peak int64
	var cerr string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "copied=") {
			i := strings.Index(line, " contentErr=")
			j := strings.Index(line, " peakKiB=")
			copied, _ = strconv.ParseInt(line[len("copied="):i], 10, 64)
			cerr = line[i+len(" contentErr=") : j]
			peak, _ = strconv.ParseInt(line[j+len(" peakKiB="):], 10, 64)
		}
	}
	t.Logf("archive %d bytes, kept file %d bytes, peak RSS %d KiB", len(blob), copied, peak)
	if copied != 1<<30 {
		t.Errorf("copied %d bytes, want %d", copied, 1<<30)
	}
	if !strings.Contains(cerr, "limit exceeded") {
		t.Errorf("Content over 16 MiB: err = %s, want an ErrLimit error", cerr)
	}
	if peak > 96<<10 {
		t.Errorf("peak RSS %d KiB for a 1 GiB kept file, want under 96 MiB", peak)
	}
}

// TestContentThroughSymlinks: a kept file reached through symlinks of
// the image resolves inside the image tree, never on the host.
func TestContentThroughSymlinks(t *testing.T) {
	cases := []struct {
		name   string
		layers [][]byte
		want   string
		ok     bool
		err    error
	}{
		{"etc is a relative symlink", [][]byte{tarOf(t, dir("usr/etc/"), reg("usr/etc/passwd", "u\n"), sym("etc", "usr/etc"))}, "u\n", true, nil},
		{"passwd is an absolute symlink", [][]byte{tarOf(t, dir("etc/"), dir("lib/"), reg("lib/passwd", "l\n"), sym("etc/passwd", "/lib/passwd"))}, "l\n", true, nil},
		{"link in a later layer", [][]byte{tarOf(t, dir("usr/etc/"), reg("usr/etc/passwd", "a\n")), tarOf(t, sym("etc", "../../usr/etc"))}, "a\n", true, nil},
		{"to the host passwd", [][]byte{tarOf(t, dir("etc/"), sym("etc/passwd", "/etc/passwd"))}, "", false, ErrUnsafe},
		{"to the host's /dev/zero", [][]byte{tarOf(t, dir("etc/"), sym("etc/passwd", "/dev/zero"))}, "", false, nil},
		{"to a directory", [][]byte{tarOf(t, dir("etc/"), sym("etc/passwd", ".."))}, "", false, nil},
		{"through a hard link", [][]byte{tarOf(t, dir("etc/"), reg("x", "h\n"), hard("etc/passwd", "x"))}, "h\n", true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, err := openIndex(t, file(t, layersOf(c.layers...).docker(t)), WithKeep("etc/passwd"))
			if err != nil {
				t.Fatal(err)
			}
			data, ok, err := x.Content("etc/passwd", 1<<20)
			if string(data) != c.want || ok != c.ok || (c.err == nil) != (err == nil) || (c.err != nil && !errors.Is(err, c.err)) {
				t.Errorf("Content = %q, %v, %v; want %q, %v, %v", data, ok, err, c.want, c.ok, c.err)
			}
		})
	}
}

// TestLegacySharedBudget: a legacy docker-archive whose layer ids all link
// to one bomb shares one MaxBytes budget at Open, as the registry format.
func TestLegacySharedBudget(t *testing.T) {
	blob, diffID := zeroLayer(t, "zeros", 600<<10)
	s := spec{layers: [][]byte{blob, blob, blob}, diffIDs: []v1.Hash{diffID, diffID, diffID}}
	s.drop = map[string]bool{}
	for i := 2; i <= 3; i++ {
		id := fmt.Sprintf("%064x", i)
		s.drop[id+"/layer.tar"] = true
		s.raw = append(s.raw, sym(id+"/layer.tar", fmt.Sprintf("../%064x/layer.tar", 1)))
	}
	p := file(t, s.legacy(t))
	lim := WithLimits(Limits{MaxBytes: 1 << 20})
	img, err := Open(p, lim)
	if err == nil {
		img.Close()
	}
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "the decompressed size of the layers") {
		t.Fatalf("Open = %v, want the shared budget's ErrLimit", err)
	}
	// Within the budget it opens, and its three layers read as one image.
	img, err = Open(p, WithLimits(Limits{MaxBytes: 4 << 20}))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	if _, err := img.Index(); err != nil {
		t.Fatal(err)
	}
}

// TestFIFOBlob: a FIFO as a blob of an OCI layout, or as the image file,
// is refused at once; nothing waits for a writer.
func TestFIFOBlob(t *testing.T) {
	ls := sampleLayers(t)
	cases := []struct {
		name string
		path func(t *testing.T) string
	}{
		{"layer blob", func(t *testing.T) string {
			d := layersOf(ls...).ociDir(t)
			fifo(t, filepath.Join(d, blobName(sha(ls[0]))))
			return d
		}},
		{"index.json", func(t *testing.T) string {
			d := layersOf(ls...).ociDir(t)
			fifo(t, filepath.Join(d, "index.json"))
			return d
		}},
		{"image file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "image.tar")
			fifo(t, p)
			return p
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.path(t)
			done := make(chan error, 1)
			go func() { _, err := openIndex(t, p); done <- err }()
			select {
			case err := <-done:
				if err == nil || !(errors.Is(err, ErrFormat) || errors.Is(err, ErrMissing)) {
					t.Fatalf("err = %v, want an error refusing the FIFO", err)
				}
				t.Log(err)
			case <-time.After(5 * time.Second):
				t.Fatal("Open hangs on a FIFO")
			}
		})
	}
}

func fifo(t *testing.T, p string) {
	t.Helper()
	os.Remove(p)
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWalkContext: a cancelled context stops Open's decompression and
// the walk with context.Canceled.
func TestWalkContext(t *testing.T) {
	blob, diffID := zeroLayer(t, "zeros", 64<<20)
	p := file(t, spec{layers: [][]byte{blob}, diffIDs: []v1.Hash{diffID}}.docker(t))
	ctx, cancel := context.WithCancel(context.Background())
	img, err := Open(p, WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	cancel()
	var out bytes.Buffer
	err = Flatten(img, bufio.NewWriter(&out), time.Unix(1, 0))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Flatten = %v, want context.Canceled", err)
	}
	if out.Len() != 0 {
		t.Errorf("wrote %d bytes after the cancel", out.Len())
	}
}
