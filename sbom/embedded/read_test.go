package embedded

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/recipe"
	"github.com/nixlayer/nixlayer/stream"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/sbom"
)

var testDocs = &sbom.Documents{SPDX: []byte("{\"spdx\":2}\n"), CycloneDX: []byte("{\"cdx\":2}\n")}

// writeScript writes a stream script of two layers: an old SBOM in the
// first (as a base made by nixlayer would have), the one to find in the
// second, the customisation layer. With docs nil the image has none.
func writeScript(t *testing.T, docs *sbom.Documents) string {
	t.Helper()
	mtime := time.Unix(1, 0)
	plan := []recipe.Layer{
		{Extra: []layers.Entry{layers.File("etc/hostname", 0o644, []byte("x\n"))}, Comment: "first"},
		{Extra: []layers.Entry{layers.File("etc/motd", 0o644, []byte("hi\n"))}, Comment: "customisation"},
	}
	if docs != nil {
		old := sbom.Entries(&sbom.Documents{SPDX: []byte("old"), CycloneDX: []byte("old")})
		plan[0].Extra = layers.Merge(plan[0].Extra, old)
		plan[1].Extra = layers.Merge(plan[1].Extra, sbom.Entries(docs))
	}
	set := stream.Settings{Ref: name.MustParseReference("app:v1").(name.Tag), Platform: v1.Platform{OS: "linux", Architecture: "amd64"}, MTime: mtime, Compression: layers.Gzip}
	descs, err := stream.Describe(t.Context(), plan, layers.Options{MTime: set.MTime, Compression: set.Compression})
	if err != nil {
		t.Fatal(err)
	}
	s := &stream.Script{Settings: set, Layers: plan, Blobs: descs}
	p := filepath.Join(t.TempDir(), "stream")
	if err := stream.WriteScript(p, "/nonexistent/nixlayer", s); err != nil {
		t.Fatal(err)
	}
	return p
}

// formats writes the image of a stream script in every format Read takes.
func formats(t *testing.T, script string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	s, err := stream.ReadScript(script)
	if err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	if err := s.Stream(t.Context(), &archive); err != nil {
		t.Fatal(err)
	}
	docker := filepath.Join(dir, "docker.tar")
	if err := os.WriteFile(docker, archive.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(docker, nil)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := layout.Write(filepath.Join(dir, "oci"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return map[string]string{"stream script": script, "docker-archive": docker, "oci-layout": filepath.Join(dir, "oci")}
}

func TestRead(t *testing.T) {
	for kind, p := range formats(t, writeScript(t, testDocs)) {
		for _, f := range sbom.Formats {
			t.Run(kind+"/"+string(f), func(t *testing.T) {
				got, err := Read(p, f)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, testDocs.Get(f)) {
					t.Errorf("got %q, want %q", got, testDocs.Get(f))
				}
			})
		}
	}
}

// TestReadAll reads both documents at once from every kind of image.
func TestReadAll(t *testing.T) {
	for kind, p := range formats(t, writeScript(t, testDocs)) {
		t.Run(kind, func(t *testing.T) {
			got, err := ReadAll(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.SPDX, testDocs.SPDX) || !bytes.Equal(got.CycloneDX, testDocs.CycloneDX) {
				t.Errorf("got %q and %q, want %q and %q", got.SPDX, got.CycloneDX, testDocs.SPDX, testDocs.CycloneDX)
			}
		})
	}
	for kind, p := range formats(t, writeScript(t, nil)) {
		if _, err := ReadAll(p); !errors.Is(err, ErrNoSBOM) {
			t.Errorf("%s without documents: error %v, want ErrNoSBOM", kind, err)
		}
	}
}

func TestReadNone(t *testing.T) {
	for kind, p := range formats(t, writeScript(t, nil)) {
		t.Run(kind, func(t *testing.T) {
			_, err := Read(p, sbom.SPDXJSON)
			if !errors.Is(err, ErrNoSBOM) {
				t.Errorf("error %v, want ErrNoSBOM", err)
			}
		})
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing"), sbom.SPDXJSON); err == nil {
		t.Error("reading a missing file succeeded")
	}
}

// TestReadScriptSource reads a document that a stream script's recipe
// names by its file on disk (Entry.Source) rather than holding it: only a
// regular file inside a store path of the script's layers, reached
// without a symlink, bounded. A source elsewhere, /dev/zero, a FIFO, a
// symlink out or a 1 GiB sparse file is an error naming it, with no hang
// and no memory growth.
func TestReadScriptSource(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		// attack changes the source file src (in store path sp) or names
		// another one; want is the error, "" for none.
		attack func(t *testing.T, sp, src string) (source, want string)
	}{
		{"in a store path", func(t *testing.T, sp, src string) (string, string) { return src, "" }},
		{"outside", func(t *testing.T, sp, src string) (string, string) {
			return secret, "comes from " + secret + ", which is in no store path of the script's layers"
		}},
		{"/dev/zero", func(t *testing.T, sp, src string) (string, string) {
			return "/dev/zero", "comes from /dev/zero, which is in no store path"
		}},
		{"climbing out", func(t *testing.T, sp, src string) (string, string) {
			return sp + "/../" + filepath.Base(secret), "which is in no store path"
		}},
		{"a FIFO", func(t *testing.T, sp, src string) (string, string) {
			os.Remove(src)
			if err := syscall.Mkfifo(src, 0o644); err != nil {
				t.Fatal(err)
			}
			return src, src + ": a FIFO, not a regular file"
		}},
		{"a symlink out", func(t *testing.T, sp, src string) (string, string) {
			os.Remove(src)
			if err := os.Symlink(secret, src); err != nil {
				t.Fatal(err)
			}
			return src, src + ": a symlink, not a regular file"
		}},
		{"a symlinked directory", func(t *testing.T, sp, src string) (string, string) {
			if err := os.Symlink(filepath.Dir(secret), filepath.Join(sp, "share")); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(sp, "share", filepath.Base(secret)), filepath.Join(sp, "share") + ": a symlink, not a directory"
		}},
		{"a sparse 1 GiB file", func(t *testing.T, sp, src string) (string, string) {
			if err := os.Truncate(src, 1<<30); err != nil {
				t.Fatal(err)
			}
			return src, "is over the 67108864 byte limit"
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sp := filepath.Join(t.TempDir(), "00000000000000000000000000000000-sbom")
			src := filepath.Join(sp, "doc.json")
			if err := os.MkdirAll(sp, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(src, testDocs.SPDX, 0o644); err != nil {
				t.Fatal(err)
			}
			p := sourceScript(t, sp, src)
			source, want := tt.attack(t, sp, src)
			if source != src {
				p = sourceScript(t, sp, src, func(e *layers.Entry) { e.Source = source })
			}
			before := testutil.PeakRSS(t)
			got, err := Read(p, sbom.SPDXJSON)
			if grew := testutil.PeakRSS(t) - before; grew > 32<<20 {
				t.Errorf("peak RSS grew by %d MiB", grew>>20)
			}
			if want == "" {
				if err != nil || !bytes.Equal(got, testDocs.SPDX) {
					t.Errorf("got %q, %v; want %q", got, err, testDocs.SPDX)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p) {
				t.Errorf("got %q, %v; want an error naming %s saying %q", got, err, p, want)
			}
		})
	}
}

// sourceScript writes a stream script of two layers: store path sp, and
// the SBOM document read from src; edit changes the document's entry
// after the layers' digests are computed.
func sourceScript(t *testing.T, sp, src string, edit ...func(*layers.Entry)) string {
	t.Helper()
	e := layers.File(sbom.SPDXJSON.Path(), 0o644, nil)
	e.Source, e.Size = src, int64(len(testDocs.SPDX))
	plan := []recipe.Layer{{StorePaths: []string{sp}, Comment: "store path"}, {Extra: layers.Merge([]layers.Entry{e}), Comment: "customisation"}}
	set := stream.Settings{Ref: name.MustParseReference("app:v1").(name.Tag), MTime: time.Unix(1, 0), Compression: layers.None}
	descs, err := stream.Describe(t.Context(), plan, layers.Options{MTime: set.MTime, Compression: set.Compression})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range edit {
		for i := range plan[1].Extra {
			if plan[1].Extra[i].Name == e.Name {
				f(&plan[1].Extra[i])
			}
		}
	}
	p := filepath.Join(t.TempDir(), "stream")
	s := &stream.Script{Settings: set, Layers: plan, Blobs: descs}
	if err := stream.WriteScript(p, "/nonexistent/nixlayer", s); err != nil {
		t.Fatal(err)
	}
	return p
}
