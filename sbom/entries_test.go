package sbom

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/layers"
)

func TestEntries(t *testing.T) {
	docs := &Documents{SPDX: []byte(`{"spdx":1}`), CycloneDX: []byte(`{"cdx":1}`)}
	var buf bytes.Buffer
	if _, err := layers.WriteFunc(context.Background(), &buf, layers.Entries(Entries(docs)), layers.Options{MTime: time.Unix(1, 0), Compression: layers.None}); err != nil {
		t.Fatal(err)
	}
	var got []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		got = append(got, fmt.Sprintf("%s %o %d:%d %s", h.Name, h.Mode, h.Uid, h.Gid, data))
	}
	want := []string{
		"var/ 755 0:0 ",
		"var/lib/ 755 0:0 ",
		"var/lib/db/ 755 0:0 ",
		"var/lib/db/sbom/ 755 0:0 ",
		`var/lib/db/sbom/nixlayer.cdx.json 644 0:0 {"cdx":1}`,
		`var/lib/db/sbom/nixlayer.spdx.json 644 0:0 {"spdx":1}`,
	}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("layer entries:\n%q\nwant\n%q", got, want)
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats {
		if g, err := ParseFormat(string(f)); err != nil || g != f || f.Path() == "" || f.MediaType() == "" {
			t.Errorf("%s: %v %v %q %q", f, g, err, f.Path(), f.MediaType())
		}
	}
	if _, err := ParseFormat("spdx"); err == nil {
		t.Error("ParseFormat(spdx) succeeded")
	}
}
