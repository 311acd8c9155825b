package base

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// checkKept reads the kept etc/passwd of an image whose index builds: it
// must come back within the limit, or as an error, never panic or read
// outside the image.
func checkKept(t *testing.T, img *Image) {
	t.Helper()
	x, err := img.Index()
	if err != nil {
		return
	}
	data, ok, err := x.Content("etc/passwd", 1<<20)
	if err == nil && ok && int64(len(data)) > 1<<20 {
		t.Fatalf("Content returned %d bytes over its limit", len(data))
	}
}

// FuzzLegacy feeds any bytes as the repositories file and the top layer's
// json of a legacy docker-archive whose layers are valid.
func FuzzLegacy(f *testing.F) {
	ls := sampleLayers(f)
	ls = append(ls, tarOf(f, dir("etc/"), sym("etc/passwd", "../usr/passwd"), dir("usr/"), reg("usr/passwd", "root:x:0:0::/:/bin/sh\n")))
	topID, prevID := fmt.Sprintf("%064x", len(ls)), fmt.Sprintf("%064x", len(ls)-1)
	f.Add([]byte(`{"test/image":{"latest":"`+topID+`"}}`), []byte(`{"parent":"`+prevID+`","config":{"Env":["A=1"]}}`))
	f.Add([]byte(`{"a":{"b":"../x"}}`), []byte(`{"parent":"`+topID+`"}`))
	f.Add([]byte(`{"a":{"b":"`+topID+`"}}`), []byte(`{"parent":"`+topID+`"}`))
	f.Fuzz(func(t *testing.T, repos, layerJSON []byte) {
		s := layersOf(ls...)
		// The extra files replace the generated ones.
		s.extra = map[string][]byte{"repositories": repos, topID + "/json": layerJSON}
		img, err := Open(fuzzFile(t, s.legacy(t)), fuzzLimits, WithTempDir(t.TempDir()), WithKeep("etc/passwd"))
		if err != nil {
			return
		}
		defer img.Close()
		checkFlatten(t, img)
		checkKept(t, img)
	})
}

// FuzzOCILayout feeds any bytes as index.json and as the image manifest of
// an OCI layout directory whose blobs are valid.
func FuzzOCILayout(f *testing.F) {
	s := layersOf(sampleLayers(f)...)
	files := s.ociFiles(f)
	var manifest []byte
	for _, n := range files.names {
		if b := files.data[n]; bytes.Contains(b, []byte(`"layers"`)) {
			manifest = b
		}
	}
	f.Add(files.data["index.json"], manifest)
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:`+sha(manifest).Hex+`","size":1}]}`), manifest)
	f.Fuzz(func(t *testing.T, index, manifest []byte) {
		d := s.ociDir(t)
		if err := os.WriteFile(filepath.Join(d, "index.json"), index, 0o644); err != nil {
			t.Fatal(err)
		}
		// The manifest lives at its own digest, so the index may name it.
		p := filepath.Join(d, blobName(sha(manifest)))
		if err := os.WriteFile(p, manifest, 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := Open(d, fuzzLimits, WithTempDir(t.TempDir()), WithKeep("etc/passwd"))
		if err != nil {
			return
		}
		defer img.Close()
		checkFlatten(t, img)
		checkKept(t, img)
	})
}
