package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/sbom"
	"github.com/nixlayer/nixlayer/sbom/embedded"
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
