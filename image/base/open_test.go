package base

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// sampleLayers is a two-layer image: a file, a symlink, a whiteout.
func sampleLayers(t testing.TB) [][]byte {
	return [][]byte{
		tarOf(t, dir("etc/"), reg("etc/hosts", "127.0.0.1 localhost\n"), reg("etc/old", "x"), dir("usr/"), dir("usr/bin/"),
			regMode("usr/bin/tool", "#!/bin/sh\n", 0o755), sym("bin", "usr/bin")),
		tarOf(t, reg("etc/.wh.old", ""), reg("etc/motd", "hi\n")),
	}
}

var sampleSummary = []string{
	"bin 2 777 -> usr/bin",
	"etc 5 755",
	"etc/hosts 0 644 20",
	"etc/motd 0 644 3",
	"usr 5 755",
	"usr/bin 5 755",
	"usr/bin/tool 0 755 10",
}

func TestOpenFormats(t *testing.T) {
	ls := sampleLayers(t)
	gz := [][]byte{compressWith(t, gzipped, ls[0]), compressWith(t, zstded, ls[1])}
	base := spec{layers: ls}
	compressedLayers := spec{layers: gz, tars: ls}
	type tc struct {
		name   string
		path   func(t *testing.T) string
		format Format
		comp   string
	}
	var cases []tc
	for _, c := range []compression{uncompressed, gzipped, zstded, xzed} {
		c := c
		cases = append(cases,
			tc{"docker/" + c.Label(), func(t *testing.T) string { return file(t, compressWith(t, c, base.docker(t))) }, DockerArchive, c.Label()},
			tc{"legacy/" + c.Label(), func(t *testing.T) string { return file(t, compressWith(t, c, base.legacy(t))) }, DockerArchiveLegacy, c.Label()},
			tc{"oci-archive/" + c.Label(), func(t *testing.T) string { return file(t, compressWith(t, c, base.ociArchive(t))) }, OCIArchive, c.Label()},
		)
	}
	cases = append(cases,
		tc{"oci-layout", func(t *testing.T) string { return base.ociDir(t) }, OCILayout, "uncompressed"},
		tc{"docker/compressed-layers", func(t *testing.T) string { return file(t, compressedLayers.docker(t)) }, DockerArchive, "uncompressed"},
		tc{"oci-layout/compressed-layers", func(t *testing.T) string { return compressedLayers.ociDir(t) }, OCILayout, "uncompressed"},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, err := Open(c.path(t))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer img.Close()
			if img.Format() != c.format || img.Compression() != c.comp {
				t.Errorf("format %s/%s, want %s/%s", img.Format(), img.Compression(), c.format, c.comp)
			}
			x, err := img.Index()
			if err != nil {
				t.Fatalf("Index: %v", err)
			}
			if got := summary(x); !slices.Equal(got, sampleSummary) {
				t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(sampleSummary, "\n"))
			}
			ids, err := img.DiffIDs()
			if err != nil || len(ids) != 2 || ids[0] != sha(ls[0]) || ids[1] != sha(ls[1]) {
				t.Errorf("DiffIDs = %v, %v", ids, err)
			}
			// The go-containerregistry view has the same layers, byte for byte.
			vls, err := img.V1().Layers()
			if err != nil || len(vls) != 2 {
				t.Fatalf("V1().Layers() = %d, %v", len(vls), err)
			}
			for i, l := range vls {
				d, _ := l.Digest()
				blob := ls[i]
				if c.name == "docker/compressed-layers" || c.name == "oci-layout/compressed-layers" {
					blob = gz[i]
				}
				if d != sha(blob) {
					t.Errorf("layer %d digest %s, want %s", i, d, sha(blob))
				}
				diff, _ := l.DiffID()
				if diff != sha(ls[i]) {
					t.Errorf("layer %d diffID %s, want %s", i, diff, sha(ls[i]))
				}
			}
			if _, err := img.V1().Manifest(); err != nil {
				t.Errorf("Manifest: %v", err)
			}
			if cf := img.ConfigFile(); cf.OS != "linux" || len(cf.Config.Env) != 1 {
				t.Errorf("config %+v", cf)
			}
		})
	}
}

func TestOpenPick(t *testing.T) {
	ls := sampleLayers(t)
	s := spec{layers: ls, tags: []string{"first/img:1", "docker.io/library/busybox:latest", "second:2"}}
	makers := map[string]func(t *testing.T) string{
		"docker":      func(t *testing.T) string { return file(t, s.docker(t)) },
		"legacy":      func(t *testing.T) string { return file(t, s.legacy(t)) },
		"oci-archive": func(t *testing.T) string { return file(t, s.ociArchive(t)) },
		"oci-layout":  func(t *testing.T) string { return s.ociDir(t) },
	}
	cases := []struct {
		name, imgName, tag, want, err string
	}{
		{"default is first", "", "", "first/img:1", ""},
		{"by name and tag", "second", "2", "second:2", ""},
		{"by tag", "", "2", "second:2", ""},
		{"short name", "busybox", "latest", "docker.io/library/busybox:latest", ""},
		{"missing", "nope", "x", "", "it holds: first/img:1, docker.io/library/busybox:latest, second:2"},
	}
	for fname, mk := range makers {
		for _, c := range cases {
			t.Run(fname+"/"+c.name, func(t *testing.T) {
				img, err := Open(mk(t), WithName(c.imgName), WithTag(c.tag))
				if c.err != "" {
					if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrMissing) {
						t.Fatalf("err = %v, want one containing %q", err, c.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				defer img.Close()
				if img.Ref() != c.want {
					t.Errorf("Ref() = %q, want %q", img.Ref(), c.want)
				}
			})
		}
	}
}

func TestOpenNotAnImage(t *testing.T) {
	cases := map[string][]byte{
		"empty tar":  tarOf(t),
		"plain text": []byte("hello"),
		"other tar":  tarOf(t, reg("README", "x")),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Open(file(t, b))
			if err == nil {
				t.Fatal("Open succeeded")
			}
		})
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrFormat) {
		t.Errorf("empty directory: err = %v, want ErrFormat", err)
	}
}
