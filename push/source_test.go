package push

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/internal/registrytest"
	"github.com/nixlayer/nixlayer/recipe"
	"github.com/nixlayer/nixlayer/source"
	"github.com/nixlayer/nixlayer/stream"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/nixlayer/nixlayer/layers"
)

// TestPushRelativeStreamIsAFile: `nixlayer push result REG/…` runs the
// file ./result, never a command "result" found in $PATH.
func TestPushRelativeStreamIsAFile(t *testing.T) {
	host, _ := registrytest.InProcess(t)
	registrytest.Put(t, host+"/src:v1", registrytest.RandomImage(t))
	srcs := sources(t, host, "src:v1")
	dir, bin := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "result"), []byte("#!/bin/sh\nexec cat "+srcs[base.DockerArchive]+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "result"), []byte("#!/bin/sh\necho from PATH >&2\nexit 7\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Chdir(dir)
	if _, err := Push(context.Background(), "result", host+"/relative:v1", fast); err != nil {
		t.Fatalf("push of ./result: %v", err)
	}
}

// TestPushStreamScriptInProcess pushes a nixlayer stream script whose
// interpreter does not exist: Push reads the script itself and produces
// its layers while uploading them.
func TestPushStreamScriptInProcess(t *testing.T) {
	host, _ := registrytest.InProcess(t)
	mtime := time.Unix(1, 0)
	plan := []recipe.Layer{{Comment: "hello", Extra: []layers.Entry{layers.File("hello", 0o644, []byte("hello\n"))}}}
	set := stream.Settings{Ref: name.MustParseReference("app:v1").(name.Tag), Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, Created: mtime, MTime: mtime, Compression: layers.Gzip}
	descs, err := stream.Describe(context.Background(), plan, layers.Options{MTime: set.MTime, Compression: set.Compression})
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "stream")
	if err := stream.WriteScript(script, "/nonexistent/nixlayer", &stream.Script{Settings: set, Layers: plan, Blobs: descs}); err != nil {
		t.Fatal(err)
	}
	dest := host + "/script:v1"
	if _, err := Push(context.Background(), script, dest, fast); err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(dest)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(registrytest.LayerDigests(t, img), " "); got != descs[0].Digest.String() {
		t.Errorf("pushed layers %s, want %s", got, descs[0].Digest)
	}
}

// TestPushRefusesSparseOCIArchive: an oci-archive is read by image/base,
// which refuses PAX sparse entries (a small file that expands to any size)
// instead of extracting them.
func TestPushRefusesSparseOCIArchive(t *testing.T) {
	host, _ := registrytest.InProcess(t)
	registrytest.Put(t, host+"/src:v1", registrytest.RandomImage(t))
	srcs := sources(t, host, "src:v1")
	sparse := filepath.Join(t.TempDir(), "sparse.tar")
	rewriteTar(t, srcs[base.OCIArchive], sparse, func(h *tar.Header) map[string]string {
		if !strings.HasPrefix(h.Name, "blobs/sha256/") || h.Typeflag != tar.TypeReg {
			return nil
		}
		// PAX sparse 0.1: one data run, expanding to 1 TiB.
		return map[string]string{"GNU.sparse.numblocks": "1", "GNU.sparse.map": fmt.Sprintf("0,%d", h.Size), "GNU.sparse.size": "1099511627776"}
	})
	_, err := Push(context.Background(), sparse, host+"/x:v1", fast)
	if err == nil || !strings.Contains(err.Error(), "sparse") {
		t.Errorf("push of an oci-archive with a sparse entry: %v, want an error saying sparse", err)
	}
}

// rewriteTar copies the tar src to dst, putting before an entry the PAX
// records pax returns for it (written by hand: archive/tar drops GNU.sparse
// records).
func rewriteTar(t *testing.T, src, dst string, pax func(*tar.Header) map[string]string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if recs := pax(h); recs != nil {
			if err := tw.Flush(); err != nil {
				t.Fatal(err)
			}
			if _, err := out.Write(paxHeader(t, recs)); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(tw, tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

// paxHeader returns a PAX extended header entry ('x') holding recs.
func paxHeader(t *testing.T, recs map[string]string) []byte {
	t.Helper()
	var body strings.Builder
	for _, k := range slices.Sorted(maps.Keys(recs)) {
		rec := " " + k + "=" + recs[k] + "\n"
		n := len(rec) + 1
		for len(strconv.Itoa(n))+len(rec) != n {
			n++
		}
		body.WriteString(strconv.Itoa(n) + rec)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "PaxHeaders/x", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(body.Len()), Format: tar.FormatUSTAR}); err != nil {
		t.Fatal(err)
	}
	io.WriteString(tw, body.String())
	tw.Flush()
	b := buf.Bytes()
	b[156] = tar.TypeXHeader
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b[:512] {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// TestPushStreamOverLimit: the output of a stream executable is spooled
// within the size limit, then refused.
func TestPushStreamOverLimit(t *testing.T) {
	host, _ := registrytest.InProcess(t)
	registrytest.Put(t, host+"/src:v1", registrytest.RandomImage(t))
	srcs := sources(t, host, "src:v1")
	defer func(n int64) { source.MaxStreamBytes = n }(source.MaxStreamBytes)
	source.MaxStreamBytes = 4096
	_, err := Push(context.Background(), srcs[base.Executable], host+"/x:v1", fast)
	if err == nil || !strings.Contains(err.Error(), "larger than the image size limit (4096 bytes)") {
		t.Errorf("push of a stream over the limit: %v, want the size limit named", err)
	}
}
