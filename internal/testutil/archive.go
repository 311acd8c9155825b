package testutil

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/nixlayer/nixlayer/compression"
)

// ManifestEntry is one image of a docker-archive's manifest.json.
type ManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// Decompressed opens the file at path, plain or compressed (gzip, zstd,
// xz: package compression's readers), and returns its compression and
// decompressed bytes as a stream; close closes both.
func Decompressed(t testing.TB, path string) (compression.Compression, io.ReadCloser) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	c, r, err := compression.Peek(f)
	if err != nil {
		f.Close()
		t.Fatal(err)
	}
	d, err := compression.Decompress(r, c, 1<<27)
	if err != nil {
		f.Close()
		t.Fatal(err)
	}
	return c, readCloser{d, f}
}

type readCloser struct {
	io.ReadCloser
	f *os.File
}

func (r readCloser) Close() error {
	r.ReadCloser.Close()
	return r.f.Close()
}

// DockerArchive reads the docker-archive at path, plain or compressed: its
// manifest.json and the names of its members in archive order.
func DockerArchive(t testing.TB, path string) (manifest []ManifestEntry, members []string) {
	t.Helper()
	_, d := Decompressed(t, path)
	defer d.Close()
	tr := tar.NewReader(d)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return manifest, members
		}
		if err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		members = append(members, h.Name)
		if h.Name == "manifest.json" {
			if err := json.NewDecoder(tr).Decode(&manifest); err != nil {
				t.Fatalf("%s: manifest.json: %v", path, err)
			}
		}
	}
}

// RepoTags lists the RepoTags of every image of a manifest, in order.
func RepoTags(m []ManifestEntry) []string {
	var out []string
	for _, e := range m {
		out = append(out, e.RepoTags...)
	}
	return out
}
