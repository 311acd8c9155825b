package base

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// ent is one crafted tar entry.
type ent struct {
	hdr  tar.Header
	body []byte
}

func reg(name, body string) ent {
	return ent{tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))}, []byte(body)}
}
func regMode(name, body string, mode int64) ent {
	e := reg(name, body)
	e.hdr.Mode = mode
	return e
}
func dir(name string) ent {
	return ent{hdr: tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}}
}
func sym(name, target string) ent {
	return ent{hdr: tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}}
}
func hard(name, target string) ent {
	return ent{hdr: tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target, Mode: 0o644}}
}
func special(name string, typ byte) ent {
	return ent{hdr: tar.Header{Name: name, Typeflag: typ, Mode: 0o600, Devmajor: 1, Devminor: 3}}
}

// tarOf writes entries as a tar stream, as they are (no cleaning).
func tarOf(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("writing tar header %q: %v", h.Name, err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func compressWith(t testing.TB, c compression, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch c {
	case uncompressed:
		return b
	case gzipped:
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
	case zstded:
		w, _ := zstd.NewWriter(&buf)
		w.Write(b)
		w.Close()
	case xzed:
		w, err := xz.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
		w.Close()
	}
	return buf.Bytes()
}

func sha(b []byte) v1.Hash {
	s := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}
}

// spec describes a crafted image. Layers are blobs (a tar, maybe
// compressed); diffIDs default to the sha256 of each uncompressed tar
// (given in tars, defaulting to the layers themselves).
type spec struct {
	layers  [][]byte
	tars    [][]byte
	diffIDs []v1.Hash
	tags    []string // one image per tag (docker/legacy/oci); all share the layers
	config  map[string]any
	drop    map[string]bool   // files left out of the archive
	extra   map[string][]byte // extra files
	raw     []ent             // extra raw entries of the outer tar
}

func layersOf(tars ...[]byte) spec { return spec{layers: tars} }

func (s spec) configBytes(t testing.TB) []byte {
	t.Helper()
	ids := s.diffIDs
	if ids == nil {
		for i, l := range s.layers {
			u := l
			if s.tars != nil {
				u = s.tars[i]
			}
			ids = append(ids, sha(u))
		}
	}
	cfg := map[string]any{"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Env": []string{"PATH=/bin"}}, "rootfs": map[string]any{"type": "layers", "diff_ids": ids}}
	for k, v := range s.config {
		cfg[k] = v
	}
	b, _ := json.Marshal(cfg)
	return b
}

func (s spec) tagList() []string {
	if len(s.tags) == 0 {
		return []string{"test/image:latest"}
	}
	return s.tags
}

// files is an ordered set of archive files.
type files struct {
	names []string
	data  map[string][]byte
}

func (f *files) add(name string, b []byte) {
	if f.data == nil {
		f.data = map[string][]byte{}
	}
	if _, ok := f.data[name]; !ok {
		f.names = append(f.names, name)
	}
	f.data[name] = b
}

func (s spec) finish(t testing.TB, f *files) []byte {
	for k, v := range s.extra {
		f.add(k, v)
	}
	var ents []ent
	for _, n := range f.names {
		if !s.drop[n] {
			ents = append(ents, reg(n, string(f.data[n])))
		}
	}
	return tarOf(t, append(ents, s.raw...)...)
}

// docker returns a docker-archive (registry format).
func (s spec) docker(t testing.TB) []byte {
	t.Helper()
	var f files
	cfg := s.configBytes(t)
	cfgName := sha(cfg).Hex + ".json"
	var layerNames []string
	for _, l := range s.layers {
		n := sha(l).Hex + "/layer.tar"
		layerNames = append(layerNames, n)
	}
	var m []map[string]any
	for _, tag := range s.tagList() {
		m = append(m, map[string]any{"Config": cfgName, "RepoTags": []string{tag}, "Layers": layerNames})
	}
	mb, _ := json.Marshal(m)
	f.add("manifest.json", mb)
	f.add(cfgName, cfg)
	for i, l := range s.layers {
		f.add(layerNames[i], l)
	}
	return s.finish(t, &f)
}

// legacy returns a docker-archive in the legacy format.
func (s spec) legacy(t testing.TB) []byte {
	t.Helper()
	var f files
	parent := ""
	var top string
	for i, l := range s.layers {
		id := fmt.Sprintf("%064x", i+1)
		j := map[string]any{"id": id, "created": "2020-01-01T00:00:00Z", "container_config": map[string]any{"Cmd": []string{"layer", fmt.Sprint(i)}}}
		if parent != "" {
			j["parent"] = parent
		}
		if i == len(s.layers)-1 {
			j["config"] = map[string]any{"Env": []string{"PATH=/bin"}}
			j["architecture"], j["os"] = "amd64", "linux"
		}
		jb, _ := json.Marshal(j)
		f.add(id+"/json", jb)
		f.add(id+"/layer.tar", l)
		f.add(id+"/VERSION", []byte("1.0"))
		parent, top = id, id
	}
	repos := "{"
	for i, tag := range s.tagList() {
		r := parseRef(tag)
		if i > 0 {
			repos += ","
		}
		repos += fmt.Sprintf("%q:{%q:%q}", r.name, r.tag, top)
	}
	f.add("repositories", []byte(repos+"}"))
	return s.finish(t, &f)
}

// ociFiles returns the files of an OCI layout.
func (s spec) ociFiles(t testing.TB) *files {
	t.Helper()
	f := &files{}
	f.add("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	cfg := s.configBytes(t)
	m := v1.Manifest{SchemaVersion: 2, MediaType: "application/vnd.oci.image.manifest.v1+json",
		Config: v1.Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: sha(cfg), Size: int64(len(cfg))}}
	for _, l := range s.layers {
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: sha(l), Size: int64(len(l))})
	}
	mb, _ := json.Marshal(m)
	idx := v1.IndexManifest{SchemaVersion: 2}
	for _, tag := range s.tagList() {
		idx.Manifests = append(idx.Manifests, v1.Descriptor{MediaType: "application/vnd.oci.image.manifest.v1+json",
			Digest: sha(mb), Size: int64(len(mb)), Annotations: map[string]string{annotationContainerName: tag, annotationRefName: parseRef(tag).tag}})
	}
	ib, _ := json.Marshal(idx)
	f.add("index.json", ib)
	f.add(blobName(sha(mb)), mb)
	f.add(blobName(sha(cfg)), cfg)
	for _, l := range s.layers {
		f.add(blobName(sha(l)), l)
	}
	return f
}

func (s spec) ociArchive(t testing.TB) []byte { return s.finish(t, s.ociFiles(t)) }

// ociDir writes the OCI layout into a new directory.
func (s spec) ociDir(t testing.TB) string {
	t.Helper()
	d := t.TempDir()
	f := s.ociFiles(t)
	for k, v := range s.extra {
		f.add(k, v)
	}
	for _, n := range f.names {
		if s.drop[n] {
			continue
		}
		p := filepath.Join(d, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, f.data[n], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// file writes b to a new file and returns its path.
func file(t testing.TB, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// paths summarises an index as "path type [-> link|=content sha prefix]".
func summary(x *Index) []string {
	var out []string
	for _, f := range x.Files() {
		s := fmt.Sprintf("%s %c %o", f.Path, f.Type, f.Mode)
		switch f.Type {
		case tar.TypeSymlink:
			s += " -> " + f.Linkname
		case tar.TypeReg:
			s += fmt.Sprintf(" %d", f.Size)
		}
		out = append(out, s)
	}
	return out
}

func ls2ids(blobs ...[]byte) []v1.Hash {
	var out []v1.Hash
	for _, b := range blobs {
		out = append(out, sha(b))
	}
	return out
}
