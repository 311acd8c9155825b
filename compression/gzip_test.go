package compression

import (
	"bytes"
	"compress/gzip"
	"io"
	"os/exec"
	"runtime"
	"testing"
)

// TestGzipBlocks checks gzip layers that span many blocks: the bytes do not
// depend on the cores or on how the tar is written, the blob is one gzip
// member (which every decoder reads), and gzip -d reads it too.
func TestGzipBlocks(t *testing.T) {
	data := sample(5*gzipBlock/2+3, 11)
	write := func(procs, step int) []byte {
		t.Helper()
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		var buf bytes.Buffer
		w, err := Gzip.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeIn(w, data, step); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	want := write(1, len(data))
	for _, c := range []struct{ procs, step int }{{1, 1000}, {2, 100_000}, {4, 1 << 20}, {8, 7777}} {
		if got := write(c.procs, c.step); !bytes.Equal(got, want) {
			t.Errorf("GOMAXPROCS %d, writes of %d: %d bytes differ from the %d of one write on one core", c.procs, c.step, len(got), len(want))
		}
	}

	zr, err := gzip.NewReader(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	back, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("the first gzip member holds %d bytes (%v), want all %d", len(back), err, len(data))
	}
	if zr.Header.Name != "" || !zr.Header.ModTime.IsZero() || zr.Header.Comment != "" {
		t.Errorf("gzip header has name %q, mtime %v, comment %q; want none", zr.Header.Name, zr.Header.ModTime, zr.Header.Comment)
	}
	if gz, err := exec.LookPath("gzip"); err == nil {
		cmd := exec.Command(gz, "-d", "-c")
		cmd.Stdin = bytes.NewReader(want)
		out, err := cmd.Output()
		if err != nil || !bytes.Equal(out, data) {
			t.Errorf("gzip -d gave %d bytes (%v), want %d", len(out), err, len(data))
		}
	} else {
		t.Log("gzip CLI not installed: checked with Go's decoder only")
	}
}
