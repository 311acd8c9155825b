package format

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/layers"
)

var testTime = time.Unix(1, 0)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Format
		oci  bool
		err  string
	}{
		{in: "", want: DockerArchive},
		{in: "docker-archive", want: DockerArchive},
		{in: "oci-layout", want: OCILayout, oci: true},
		{in: "oci-archive", want: OCIArchive, oci: true},
		{in: "oci", err: `unknown format "oci": use docker-archive, oci-layout or oci-archive`},
		{in: "Docker-Archive", err: `unknown format "Docker-Archive"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse(%q) error = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want || got.OCI() != tt.oci {
				t.Errorf("Parse(%q) = %q, %v (OCI %v), want %q (OCI %v)", tt.in, got, err, got.OCI(), tt.want, tt.oci)
			}
		})
	}
}

// testLayer is an uncompressed layer holding one file.
type testLayer struct {
	entries []layers.Entry
	tar     []byte
	desc    layers.Descriptor
}

func newLayer(t *testing.T, file, content string) testLayer {
	t.Helper()
	es := []layers.Entry{layers.File(file, 0o644, []byte(content))}
	var buf bytes.Buffer
	d, err := layers.WriteFunc(context.Background(), &buf, layers.Entries(es), layers.Options{MTime: testTime, Compression: layers.None})
	if err != nil {
		t.Fatal(err)
	}
	return testLayer{entries: es, tar: buf.Bytes(), desc: d}
}

func (l testLayer) blob(mt types.MediaType) Blob {
	return Blob{Desc: v1.Descriptor{MediaType: mt, Digest: l.desc.Digest, Size: l.desc.Size}, Open: bytesOpener(l.tar)}
}

// testImage makes the config and manifest of an image of ls in format f.
func testImage(t *testing.T, f Format, ref string, ls ...testLayer) (Image, v1.Image) {
	t.Helper()
	img := empty.Image
	mt := types.DockerUncompressedLayer
	if f.OCI() {
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		mt = types.OCIUncompressedLayer
	}
	for _, l := range ls {
		var err error
		if img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(l.tar, mt), MediaType: mt}); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	man, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	n, tag, _ := strings.Cut(ref, ":")
	return Image{Config: cfg, Manifest: man, Name: n, Tag: tag, IndexName: ref}, img
}

func mediaType(f Format) types.MediaType { return f.MediaType(types.DockerUncompressedLayer) }

// write writes two images sharing a layer into out, producing the layers
// (produce) or giving them with their descriptors.
func writeTwo(t *testing.T, f Format, out string, produce bool) (a, b v1.Image) {
	t.Helper()
	shared, own1, own2 := newLayer(t, "shared", "shared\n"), newLayer(t, "one", "1\n"), newLayer(t, "two", "2\n")
	img1, a := testImage(t, f, "one:v1", shared, own1)
	img2, b := testImage(t, f, "two:v2", shared, own2)
	err := Create(out, f, testTime, func(w Writer) error {
		for _, l := range []testLayer{shared, own1, shared, own2} {
			if !produce {
				if err := w.Blob(l.blob(mediaType(f))); err != nil {
					return err
				}
				continue
			}
			_, err := w.Produce(mediaType(f), func(dst io.Writer) (layers.Descriptor, error) {
				return layers.WriteFunc(context.Background(), dst, layers.Entries(l.entries), layers.Options{MTime: testTime, Compression: layers.None})
			})
			if err != nil {
				return err
			}
		}
		if err := w.Image(img1); err != nil {
			return err
		}
		return w.Image(img2)
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestSeveralImages writes two images that share a layer into each format
// and reads each one back by its tag.
func TestSeveralImages(t *testing.T) {
	for _, f := range []Format{DockerArchive, OCILayout, OCIArchive} {
		t.Run(string(f), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			want1, want2 := writeTwo(t, f, out, true)
			for ref, want := range map[string]v1.Image{"one:v1": want1, "two:v2": want2} {
				got := readBack(t, f, out, ref)
				var opts []validate.Option
				if f.OCI() {
					// go-containerregistry's layout reader takes every layer for gzip.
					opts = append(opts, validate.Fast)
				}
				if err := validate.Image(got, opts...); err != nil {
					t.Errorf("%s: %v", ref, err)
				}
				wd, _ := want.Digest()
				if gd, _ := got.Digest(); f.OCI() && gd != wd {
					t.Errorf("%s: manifest digest %s, want %s", ref, gd, wd)
				}
				wc, _ := want.ConfigName()
				if gc, _ := got.ConfigName(); gc != wc {
					t.Errorf("%s: config %s, want %s", ref, gc, wc)
				}
			}
			if f == DockerArchive {
				entries := tarNames(t, out)
				if n := strings.Count(strings.Join(entries, " "), ".tar "); n != 3 {
					t.Errorf("archive holds %d layer files, want 3 (the shared one once): %v", n, entries)
				}
			}
			skopeoReads(t, f, out, "two:v2")
		})
	}
}

func readBack(t *testing.T, f Format, out, ref string) v1.Image {
	t.Helper()
	var img v1.Image
	var err error
	switch f {
	case DockerArchive:
		tag, perr := name.NewTag(ref, name.WeakValidation)
		if perr != nil {
			t.Fatal(perr)
		}
		img, err = tarball.ImageFromPath(out, &tag)
	case OCIArchive:
		dir := t.TempDir()
		untar(t, out, dir)
		return readBack(t, OCILayout, dir, ref)
	case OCILayout:
		idx, im := testutil.LayoutIndex(t, out)
		for _, d := range im.Manifests {
			if d.Annotations[imageNameAnnotation] == ref {
				img, err = idx.Image(d.Digest)
				if err != nil {
					t.Fatal(err)
				}
				return img
			}
		}
		t.Fatalf("no image named %s in %v", ref, im.Manifests)
	}
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func skopeoReads(t *testing.T, f Format, out, ref string) {
	t.Helper()
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Log("skopeo not installed")
		return
	}
	src := string(f) + ":" + out + ":" + ref
	switch f {
	case OCILayout:
		src = "oci:" + out + ":" + strings.SplitN(ref, ":", 2)[1]
	case OCIArchive:
		src = "oci-archive:" + out + ":" + strings.SplitN(ref, ":", 2)[1]
	}
	if b, err := exec.Command("skopeo", "inspect", "--raw", src).CombinedOutput(); err != nil {
		t.Errorf("skopeo inspect %s: %v\n%s", src, err, b)
	}
}

// TestProducedSameBytes checks that a layer written while the archive is
// written (header patched) gives the same bytes as one given with its
// descriptor, and that the produced archive is written deterministically.
func TestProducedSameBytes(t *testing.T) {
	for _, f := range []Format{DockerArchive, OCIArchive} {
		t.Run(string(f), func(t *testing.T) {
			dir := t.TempDir()
			known, produced := filepath.Join(dir, "known"), filepath.Join(dir, "produced")
			writeTwo(t, f, known, false)
			writeTwo(t, f, produced, true)
			a, err := os.ReadFile(known)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(produced)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("produced archive (%d bytes) differs from the known one (%d bytes)", len(b), len(a))
			}
		})
	}
}

// TestStreamRefusesProduce: a stream has no header to go back to.
func TestStreamRefusesProduce(t *testing.T) {
	l := newLayer(t, "a", "a")
	err := Stream(io.Discard, DockerArchive, testTime, func(w Writer) error {
		_, err := w.Produce(types.DockerUncompressedLayer, func(dst io.Writer) (layers.Descriptor, error) {
			return layers.WriteFunc(context.Background(), dst, layers.Entries(l.entries), layers.Options{MTime: testTime, Compression: layers.None})
		})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "not a file") {
		t.Errorf("Produce into a stream: %v, want an error", err)
	}
}

// TestImageNeedsItsLayers: an image whose layer was not written is an
// error and leaves nothing at the output.
func TestImageNeedsItsLayers(t *testing.T) {
	for _, f := range []Format{DockerArchive, OCILayout, OCIArchive} {
		t.Run(string(f), func(t *testing.T) {
			img, _ := testImage(t, f, "app:v1", newLayer(t, "a", "a"))
			out := filepath.Join(t.TempDir(), "out")
			err := Create(out, f, testTime, func(w Writer) error { return w.Image(img) })
			if err == nil || !strings.Contains(err.Error(), "was not written") {
				t.Errorf("got %v, want an error naming the missing layer", err)
			}
			if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s exists after a failed write", out)
			}
		})
	}
}

// TestHeaderOneBlock: headers stay one block, USTAR up to 8 GiB and GNU
// above, so that a produced blob's header can be written over its
// placeholder.
func TestHeaderOneBlock(t *testing.T) {
	tw := newTarWriter(io.Discard, testTime)
	for _, size := range []int64{0, 1, maxUSTARSize, maxUSTARSize + 1, 1 << 40} {
		h, err := tw.header(strings.Repeat("a", 64)+".tar.zst", size)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		hdr, err := tar.NewReader(io.MultiReader(bytes.NewReader(h), bytes.NewReader(make([]byte, 1024)))).Next()
		if err != nil {
			t.Fatalf("size %d: reading the header back: %v", size, err)
		}
		if hdr.Size != size {
			t.Errorf("header size %d, want %d", hdr.Size, size)
		}
	}
}

func tarNames(t *testing.T, p string) []string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

func untar(t *testing.T, p, dir string) {
	t.Helper()
	if b, err := exec.Command("tar", "-xf", p, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("tar -xf %s: %v\n%s", p, err, b)
	}
}

// TestPlatformsInIndex: images given with platforms make index.json a
// multi-platform index.
func TestPlatformsInIndex(t *testing.T) {
	l := newLayer(t, "a", "a")
	out := filepath.Join(t.TempDir(), "out")
	err := Create(out, OCILayout, testTime, func(w Writer) error {
		if err := w.Blob(l.blob(mediaType(OCILayout))); err != nil {
			return err
		}
		for _, arch := range []string{"amd64", "arm64"} {
			img, _ := testImage(t, OCILayout, "app:"+arch, l)
			img.Platform = &v1.Platform{OS: "linux", Architecture: arch}
			if err := w.Image(img); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, im := testutil.LayoutIndex(t, out)
	var got []string
	for _, d := range im.Manifests {
		if d.Platform != nil {
			got = append(got, d.Platform.String())
		}
	}
	if strings.Join(got, " ") != "linux/amd64 linux/arm64" {
		t.Errorf("index platforms %v, want linux/amd64 linux/arm64", got)
	}
}
