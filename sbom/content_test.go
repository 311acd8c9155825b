package sbom

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/registration"
)

// TestContentID: the ID (and so the documents of an image named by its
// contents) changes with every part of the contents and with nothing
// else.
func TestContentID(t *testing.T) {
	base, err := ContentID(testInput(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(base, "sha256:") || len(base) != len("sha256:")+64 {
		t.Fatalf("content ID %q is not sha256:<hex>", base)
	}
	otherHash := func(in *Input) {
		var infos []registration.PathInfo
		for _, p := range in.Graph.Paths() {
			if p.Path == appPath {
				p.NarHash = "sha256:" + strings.Repeat("0", 52)
			}
			infos = append(infos, p)
		}
		g, err := registration.NewGraph(in.Graph.StoreDir(), infos)
		if err != nil {
			t.Fatal(err)
		}
		in.Graph = g
	}
	cases := []struct {
		name   string
		change func(*Input)
		same   bool
	}{
		{"created", func(in *Input) { in.Image.Created = time.Unix(1700000000, 0) }, true},
		{"tool version", func(in *Input) { in.ToolVersion = "other" }, true},
		{"roots given twice", func(in *Input) { in.Roots = append(in.Roots, in.Roots...) }, true},
		{"name and tag", func(in *Input) { in.Image.Name, in.Image.Tag = "registry.test/other", "v9" }, true},
		{"a narHash", otherHash, false},
		{"a license", func(in *Input) { in.Meta[appPath] = Meta{License: "MIT"} }, false},
		{"an extra package", func(in *Input) { in.Extra[0].Version = "3.2" }, false},
		{"roots", func(in *Input) { in.Roots = []string{helloPath} }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := testInput(t)
			c.change(&in)
			id, err := ContentID(in)
			if err != nil {
				t.Fatal(err)
			}
			if (id == base) != c.same {
				t.Errorf("content ID %s, before the change %s: want same=%v", id, base, c.same)
			}
		})
	}
}

// TestDocumentsHoldNoName: the documents of two images of the same
// contents under other names, tags and created dates are the same bytes,
// and hold neither name nor tag: what makes the layer holding them
// shareable and leaves no output hash (the default tag) in it.
func TestDocumentsHoldNoName(t *testing.T) {
	in := testInput(t)
	a, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	in2 := testInput(t)
	in2.Roots = []string{appPath}
	b, err := Build(in2)
	if err != nil {
		t.Fatal(err)
	}
	id, err := ContentID(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Formats {
		if !bytes.Equal(a.Get(f), b.Get(f)) {
			t.Errorf("%s: the same contents give other documents", f)
		}
		for _, bad := range []string{"registry.test", ":v1"} {
			if bytes.Contains(a.Get(f), []byte(bad)) {
				t.Errorf("%s document holds %q", f, bad)
			}
		}
		if !bytes.Contains(a.Get(f), []byte(id)) {
			t.Errorf("%s document does not name the image by its content ID %s", f, id)
		}
	}
	if c := readCDX(t, a.CycloneDX).Metadata.Component; c.Name != contentName || c.Version != id {
		t.Errorf("CycloneDX root %s@%s, want %s@%s", c.Name, c.Version, contentName, id)
	}
	if d := readSPDX(t, a.SPDX); d.DocumentName != contentName+"-"+id || d.Packages[0].PackageVersion != id {
		t.Errorf("SPDX document %q, root version %q, want named by %s", d.DocumentName, d.Packages[0].PackageVersion, id)
	}
}
