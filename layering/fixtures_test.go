package layering

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/registration"
)

// loadFixtures reads every testdata/<dir>/NAME.graph.json (a closure
// graph) with its NAME.expected.json, decoded into exp, and calls add
// with each.
func loadFixtures(t testing.TB, dir string, exp func() any, add func(name string, g *registration.Graph, exp any)) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.graph.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in testdata/%s: %v", dir, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".graph.json")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		g, err := registration.ParseStructured(data, f, "")
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join("testdata", dir, name+".expected.json"))
		if err != nil {
			t.Fatal(err)
		}
		e := exp()
		if err := json.Unmarshal(raw, e); err != nil {
			t.Fatalf("%s.expected.json: %v", name, err)
		}
		add(name, g, e)
	}
}
