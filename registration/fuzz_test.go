package registration

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// addFixtures seeds a fuzz target with the files of testdata (the corpus
// in testdata/fuzz/<target> is added by the fuzzing engine itself).
func addFixtures(f *testing.F, names ...string) {
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// checkGraph asserts what every successfully parsed graph must satisfy:
// its references are in the graph, and when it has NAR hashes its
// closureInfo registration parses back to the same graph.
func checkGraph(t *testing.T, g *Graph) {
	t.Helper()
	hashes := g.Len() > 0
	for _, p := range g.Paths() {
		for _, r := range p.References {
			if _, ok := g.Lookup(r); !ok {
				t.Fatalf("%s references %s, which is not in the graph", p.Path, r)
			}
		}
		hashes = hashes && p.NarHash != ""
	}
	if !hashes {
		return
	}
	ci, err := MakeClosureInfo(g)
	if err != nil {
		t.Fatalf("making closure info of a valid graph: %v", err)
	}
	back, err := ParseRegistration(bytes.NewReader(ci.Registration), "round trip", g.StoreDir())
	if err != nil {
		t.Fatalf("parsing our own registration: %v\n%s", err, ci.Registration)
	}
	if !reflect.DeepEqual(refsOf(back), refsOf(g)) {
		t.Fatalf("round trip changed the graph: %v, want %v", refsOf(back), refsOf(g))
	}
}

func FuzzParseExportReferences(f *testing.F) {
	addFixtures(f, "plain.graph")
	f.Fuzz(func(t *testing.T, data []byte) {
		if g, err := ParseExportReferences(bytes.NewReader(data), "fuzz", ""); err == nil {
			checkGraph(t, g)
		}
	})
}

func FuzzParseRegistration(f *testing.F) {
	addFixtures(f, "registration", "dump-db.registration")
	f.Fuzz(func(t *testing.T, data []byte) {
		if g, err := ParseRegistration(bytes.NewReader(data), "fuzz", ""); err == nil {
			checkGraph(t, g)
		}
	})
}

func FuzzParseStructured(f *testing.F) {
	addFixtures(f, "structured.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if g, err := ParseStructured(data, "fuzz", ""); err == nil {
			checkGraph(t, g)
		}
	})
}

func FuzzParse(f *testing.F) {
	addFixtures(f, "plain.graph", "registration", "structured.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if g, err := Parse(data, "fuzz", ""); err == nil {
			checkGraph(t, g)
		}
	})
}

func FuzzParseNarHash(f *testing.F) {
	f.Add("sha256:1ri0vkcidznfxxcfvjikprbfdxjj36yf20akaqydvq4gb4sppaq4")
	f.Add("sha256-BKt7NVmP4N08VlMB4bwZUvbmVr4zyu1Y787+FtncIOY=")
	f.Add("04ab7b35598fe0dd3c565301e1bc1952f6e656be33caed58efcefe16d9dc20e6")
	f.Fuzz(func(t *testing.T, s string) {
		b16, err := NarHashBase16(s)
		if err != nil {
			return
		}
		n32, err := NarHashNix32(s)
		if err != nil {
			t.Fatalf("base16 accepted %q but nix32 did not: %v", s, err)
		}
		if again, err := NarHashBase16(n32); err != nil || again != b16 {
			t.Fatalf("%q → %s → %s (%v): not stable", s, n32, again, err)
		}
	})
}
