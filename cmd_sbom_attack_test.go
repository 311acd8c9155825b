package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/sbom"
	"github.com/nixlayer/nixlayer/sbom/embedded"
	"github.com/nixlayer/nixlayer/wire"
)

// sbomImage writes a docker-archive whose one gzip layer holds an SPDX
// document of size bytes (spaces: it compresses to almost nothing).
func sbomImage(t *testing.T, size int64) string {
	t.Helper()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: sbom.SPDXJSON.Path(), Mode: 0o644, Size: size, Typeflag: tar.TypeReg, ModTime: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, spaces{}, size); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	zw.Close()
	return testutil.OneLayerArchive(t, "sbom:big", func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(gz.Bytes())), nil })
}

type spaces struct{}

func (spaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// TestSBOMDocumentBound: `nixlayer sbom` of a small image whose document
// inflates to 250 MiB fails, naming the document and the limit
// (embedded.MaxDocumentSize), before reading it, within a bounded RSS; a
// document just under the limit is printed whole.
func TestSBOMDocumentBound(t *testing.T) {
	exe := testutil.Exe(t)
	for _, tt := range []struct {
		name    string
		size    int64
		want    string
		maxRSS  int64
		printed bool
	}{
		{"250 MiB", 250 << 20, "is over the 67108864 byte limit", 100 << 20, false},
		{"under the limit", embedded.MaxDocumentSize - 1, "", 100 << 20, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			img := sbomImage(t, tt.size)
			fi, _ := os.Stat(img)
			m := testutil.RunRSS(t, 2*time.Minute, nil, exe, "sbom", img)
			t.Logf("image %d KiB, document %d MiB: exit %v, %s, peak RSS %d MiB", fi.Size()>>10, tt.size>>20, m.Err, m.Elapsed.Round(time.Millisecond), m.PeakRSS>>20)
			if m.PeakRSS > tt.maxRSS {
				t.Errorf("peak RSS %d MiB, over %d MiB", m.PeakRSS>>20, tt.maxRSS>>20)
			}
			if !tt.printed {
				if m.Err == nil || !strings.Contains(m.Stderr, tt.want) || !strings.Contains(m.Stderr, sbom.SPDXJSON.Path()) {
					t.Errorf("want an error naming /%s saying %q, got %s", sbom.SPDXJSON.Path(), tt.want, m)
				}
				return
			}
			if m.Err != nil || int64(len(m.Stdout)) != tt.size {
				t.Errorf("printed %d bytes, want %d: %s", len(m.Stdout), tt.size, m)
			}
		})
	}
}

// TestSBOMScriptSourceAttacks: `nixlayer sbom` of a stream script reads
// an entry's source only inside a store path the script's layers hold, as
// a regular file, bounded: /dev/zero, a file elsewhere, a FIFO or a 1 GiB
// sparse file in the store path end in an error naming it, within a
// bounded RSS and without a hang.
func TestSBOMScriptSourceAttacks(t *testing.T) {
	exe := testutil.Exe(t)
	sp := filepath.Join(t.TempDir(), "00000000000000000000000000000000-sbom")
	if err := os.MkdirAll(sp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sp, "good.json"), []byte(`{"spdx":2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(sp, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	sparse, err := os.Create(filepath.Join(sp, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	sparse.Truncate(1 << 30)
	sparse.Close()
	elsewhere := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(elsewhere, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := fmt.Sprintf("sha256:%064x", 1)
	desc := wire.Descriptor{Digest: d, DiffID: d, Size: 1, UncompressedSize: 1, MediaType: "application/vnd.docker.image.rootfs.diff.tar", Compression: "gzip"}
	for _, tt := range []struct{ name, source, want string }{
		{"in the store path", filepath.Join(sp, "good.json"), ""},
		{"/dev/zero", "/dev/zero", "comes from /dev/zero, which is in no store path of the script's layers"},
		{"elsewhere", elsewhere, "comes from " + elsewhere + ", which is in no store path"},
		{"a FIFO", filepath.Join(sp, "fifo"), filepath.Join(sp, "fifo") + ": a FIFO, not a regular file"},
		{"a sparse 1 GiB file", filepath.Join(sp, "sparse"), filepath.Join(sp, "sparse") + " is over the 67108864 byte limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sd := desc
			sd.StorePaths = []string{sp}
			script := writeStreamScript(t, exe, wire.Layer{Descriptor: sd},
				wire.Layer{Descriptor: desc, Extra: []wire.Entry{{Name: sbom.SPDXJSON.Path(), Type: "file", Mode: 0o644, Size: 10, Source: tt.source}}})
			m := testutil.RunRSS(t, time.Minute, nil, exe, "sbom", script)
			t.Logf("exit %v, %s, peak RSS %d MiB", m.Err, m.Elapsed.Round(time.Millisecond), m.PeakRSS>>20)
			if m.PeakRSS > maxAttackRSS {
				t.Errorf("peak RSS %d MiB, over %d MiB", m.PeakRSS>>20, maxAttackRSS>>20)
			}
			if tt.want == "" {
				if m.Err != nil || m.Stdout != `{"spdx":2}` {
					t.Errorf("printed %q: %s", m.Stdout, m)
				}
				return
			}
			if m.Err == nil || !strings.Contains(m.Stderr, tt.want) || m.Stdout != "" {
				t.Errorf("want an error saying %q and nothing printed, got %q: %s", tt.want, m.Stdout, m)
			}
		})
	}
}
