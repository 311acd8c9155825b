package merge_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/compression"
	imgformat "github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/merge"
)

// fixtureArchive writes a docker-archive (or OCI layout/archive) of one
// image tagged name:tag whose uncompressed layers hold one file each, made
// by package format so that the bytes are fixed.
func fixtureArchive(t *testing.T, f imgformat.Format, name, tag string, files ...string) string {
	t.Helper()
	var descs []v1.Descriptor
	var blobs [][]byte
	var diffIDs []v1.Hash
	for _, file := range files {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: file, Mode: 0o644, Size: int64(len(file)), ModTime: time.Unix(1, 0)})
		io.WriteString(tw, file)
		tw.Close()
		h, _, _ := v1.SHA256(bytes.NewReader(buf.Bytes()))
		descs = append(descs, v1.Descriptor{MediaType: types.DockerUncompressedLayer, Digest: h, Size: int64(buf.Len())})
		blobs = append(blobs, buf.Bytes())
		diffIDs = append(diffIDs, h)
	}
	cfg, _ := json.Marshal(v1.ConfigFile{Architecture: "amd64", OS: "linux", RootFS: v1.RootFS{Type: "layers", DiffIDs: diffIDs}})
	ch, _, _ := v1.SHA256(bytes.NewReader(cfg))
	man, _ := json.Marshal(v1.Manifest{SchemaVersion: 2, MediaType: types.DockerManifestSchema2,
		Config: v1.Descriptor{MediaType: types.DockerConfigJSON, Digest: ch, Size: int64(len(cfg))}, Layers: descs})
	out := filepath.Join(t.TempDir(), name)
	err := imgformat.Create(out, f, time.Unix(1, 0), func(w imgformat.Writer) error {
		for i, d := range descs {
			b := blobs[i]
			if err := w.Blob(imgformat.Blob{Desc: d, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}); err != nil {
				return err
			}
		}
		return w.Image(imgformat.Image{Config: cfg, Manifest: man, Name: name, Tag: tag})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMerge(t *testing.T) {
	a := fixtureArchive(t, imgformat.DockerArchive, "a", "v1", "etc/shared", "etc/a")
	b := fixtureArchive(t, imgformat.DockerArchive, "b", "v2", "etc/shared", "etc/b")
	// An OCI layout names only its tag: the input's Name completes it.
	c := fixtureArchive(t, imgformat.OCILayout, "c", "v3", "etc/c")
	inputs := []merge.Input{{Path: a}, {Path: b}, {Path: c, Name: "c", Tag: "ignored"}, {Path: a}}
	opts := merge.Options{MTime: time.Unix(1, 0)}
	out := filepath.Join(t.TempDir(), "merged.tar")
	if err := merge.Images(context.Background(), out, inputs, opts); err != nil {
		t.Fatal(err)
	}
	m, members := testutil.DockerArchive(t, out)
	tags := testutil.RepoTags(m)
	if want := []string{"a:v1", "b:v2", "c:v3"}; !slices.Equal(tags, want) {
		t.Errorf("RepoTags %q, want %q", tags, want)
	}
	// 4 distinct layers, 3 configs, manifest.json: the shared layer and the
	// repeated image once.
	if len(members) != 8 {
		t.Errorf("%d members, want 8: %q", len(members), members)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(t.TempDir(), "again.tar")
	if err := merge.Images(context.Background(), again, inputs, opts); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(again); !bytes.Equal(b, data) {
		t.Error("two merges of the same inputs differ")
	}
	// Golden digest: the same inputs give these bytes on any machine.
	sum := sha256.Sum256(data)
	if got, golden := hex.EncodeToString(sum[:]), "300431105d6d778c143cdb6bbb919315c9217428d2153f5854e9fbf47a07e3b7"; got != golden {
		t.Errorf("merged archive sha256 = %s, want %s", got, golden)
	}
	// Compressed, it is the same archive: gzip and zstd decompress to it,
	// and "last" follows the last input (gzip here).
	for _, comp := range []string{"gzip", "zstd", merge.LikeLast} {
		in := inputs
		if comp == merge.LikeLast {
			in = append(slices.Clone(inputs), merge.Input{Path: compressFile(t, a)})
		}
		z := filepath.Join(t.TempDir(), "merged")
		if err := merge.Images(context.Background(), z, in, merge.Options{Compression: comp, MTime: time.Unix(1, 0)}); err != nil {
			t.Fatal(err)
		}
		c, d := testutil.Decompressed(t, z)
		plain, err := io.ReadAll(d)
		d.Close()
		if err != nil || c == compression.None || !bytes.Equal(plain, data) {
			t.Errorf("compression %s: %v, %v, same bytes: %v", comp, c, err, bytes.Equal(plain, data))
		}
	}
	// The merged archive merges again: its images are read one by one.
	twice := filepath.Join(t.TempDir(), "twice.tar")
	if err := merge.Images(context.Background(), twice, []merge.Input{{Path: out}}, opts); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(twice); !bytes.Equal(b, data) {
		t.Error("merging the merged archive alone changed it")
	}
}

func TestMergeBadInput(t *testing.T) {
	a := fixtureArchive(t, imgformat.DockerArchive, "a", "v1", "etc/a")
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, []byte("not an image"), 0o644)
	for _, tt := range []struct {
		name   string
		inputs []merge.Input
		comp   string
		want   []string
	}{
		{"no image", nil, "", []string{"no image given"}},
		{"missing file", []merge.Input{{Path: a}, {Path: "/nonexistent/img.tar"}}, "none", []string{"/nonexistent/img.tar"}},
		{"not an image", []merge.Input{{Path: a}, {Path: junk}}, "", []string{"merging image " + junk}},
		{"bad compression", []merge.Input{{Path: a}}, "xz", []string{`unknown compression "xz"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "merged.tar")
			err := merge.Images(context.Background(), out, tt.inputs, merge.Options{Compression: tt.comp, MTime: time.Unix(1, 0)})
			testutil.WantErr(t, err, tt.want...)
			if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
				t.Errorf("left files behind: %v", ents)
			}
		})
	}
}

// compressFile writes a gzip copy of the file at p.
func compressFile(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	out := p + ".gz"
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := compression.Gzip.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}
