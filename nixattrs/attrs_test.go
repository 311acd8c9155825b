package nixattrs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeAttrs(t *testing.T, dir, content string) string {
	t.Helper()
	p := filepath.Join(dir, ".attrs.json")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	const good = `{"outputs":{"out":"/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x"},"nixlayer":{"name":"x"}}`
	t.Run("from NIX_ATTRS_JSON_FILE", func(t *testing.T) {
		p := writeAttrs(t, t.TempDir(), good)
		t.Setenv("NIX_ATTRS_JSON_FILE", p)
		a, err := Load()
		if err != nil {
			t.Fatal(err)
		}
		if out, _ := a.Out(); out != "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x" || a.File != p {
			t.Errorf("out %q, file %q", out, a.File)
		}
	})
	t.Run("from ./.attrs.json as Nix 2.8 leaves it", func(t *testing.T) {
		t.Setenv("NIX_ATTRS_JSON_FILE", "")
		dir := t.TempDir()
		writeAttrs(t, dir, good)
		t.Chdir(dir)
		a, err := Load()
		if err != nil || a.File != ".attrs.json" {
			t.Fatalf("Load: %v, file %q", err, a.File)
		}
	})
	t.Run("not a builder", func(t *testing.T) {
		t.Setenv("NIX_ATTRS_JSON_FILE", "")
		t.Chdir(t.TempDir())
		if _, err := Load(); !errors.Is(err, ErrNotBuilder) {
			t.Errorf("Load = %v, want ErrNotBuilder", err)
		}
	})
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, content string
		do            func(*Attrs) error
		want          string
	}{
		{"not JSON", `{"outputs":`, nil, "reading structured attrs"},
		{"outputs not an object", `{"outputs":[1]}`, nil, "reading outputs in"},
		{"no out", `{"outputs":{"dev":"/nix/store/x"}}`, func(a *Attrs) error { _, err := a.Out(); return err }, `name no output "out"`},
		{"absent attribute", `{}`, func(a *Attrs) error { var v struct{}; return a.Decode("nixlayer", &v) }, `have no "nixlayer" attribute`},
		{"unknown field", `{"nixlayer":{"nmae":"x"}}`, func(a *Attrs) error {
			var v struct {
				Name string `json:"name"`
			}
			return a.Decode("nixlayer", &v)
		}, `reading attribute "nixlayer"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeAttrs(t, t.TempDir(), tt.content)
			a, err := Read(p)
			if err == nil && tt.do != nil {
				err = tt.do(a)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p) && tt.do == nil {
				t.Errorf("error %v, want one containing %q and the file name", err, tt.want)
			}
		})
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}
