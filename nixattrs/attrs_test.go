package nixattrs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeAttrs(t *testing.T, dir, content string) string {
	t.Helper()
	p := filepath.Join(dir, ".attrs.json")
	writeFile(t, p, content)
	return p
}

// TestLoad puts .attrs.json where each Nix version leaves it and checks
// which file Load reads, or that its error names every path it tried.
func TestLoad(t *testing.T) {
	const good = `{"outputs":{"out":"/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x"},"nixlayer":{"name":"x"}}`
	// In each case, dirs "host", "build" and "cwd" exist under a temporary
	// directory; write lists the files made there; env and buildTop are
	// $NIX_ATTRS_JSON_FILE and $NIX_BUILD_TOP ("" unset) relative to it.
	tests := []struct {
		name          string
		write         []string
		env, buildTop string
		want          string   // file read, relative; "" for an error
		wantErr       []string // paths the error must name
		notBuilder    bool
	}{
		{name: "newer Nix: the variable names the file", write: []string{"host/.attrs.json"},
			env: "host/.attrs.json", buildTop: "build", want: "host/.attrs.json"},
		{name: "the variable wins over the build directory", write: []string{"host/.attrs.json", "build/.attrs.json"},
			env: "host/.attrs.json", buildTop: "build", want: "host/.attrs.json"},
		{name: "Nix 2.8 in the sandbox: host path, file under NIX_BUILD_TOP", write: []string{"build/.attrs.json"},
			env: "host/.attrs.json", buildTop: "build", want: "build/.attrs.json"},
		{name: "same file name under NIX_BUILD_TOP", write: []string{"build/attrs-1.json"},
			env: "host/attrs-1.json", buildTop: "build", want: "build/attrs-1.json"},
		{name: "no variables: ./.attrs.json", write: []string{"cwd/.attrs.json"}, want: ".attrs.json"},
		{name: "NIX_BUILD_TOP alone", write: []string{"build/.attrs.json"}, buildTop: "build", want: "build/.attrs.json"},
		{name: "variable set, no NIX_BUILD_TOP: ./.attrs.json", write: []string{"cwd/.attrs.json"},
			env: "host/.attrs.json", want: ".attrs.json"},
		{name: "variable set, nothing anywhere", env: "host/.attrs.json", buildTop: "build",
			wantErr: []string{"host/.attrs.json", "build/.attrs.json", ".attrs.json"}},
		{name: "not a builder", notBuilder: true, wantErr: []string{".attrs.json"}},
		{name: "not a builder, NIX_BUILD_TOP set", buildTop: "build", notBuilder: true,
			wantErr: []string{"build/.attrs.json", ".attrs.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			abs := func(rel string) string {
				if rel == "" {
					return ""
				}
				return filepath.Join(root, rel)
			}
			for _, d := range []string{"host", "build", "cwd"} {
				if err := os.Mkdir(abs(d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for _, f := range tt.write {
				writeFile(t, abs(f), good)
			}
			t.Setenv("NIX_ATTRS_JSON_FILE", abs(tt.env))
			t.Setenv("NIX_BUILD_TOP", abs(tt.buildTop))
			t.Chdir(abs("cwd"))
			a, err := Load()
			if tt.want != "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				want := tt.want
				if want != ".attrs.json" {
					want = abs(want)
				}
				if out, _ := a.Out(); a.File != want || out != "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-x" {
					t.Errorf("read %q (out %q), want %q", a.File, out, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load read %s, want an error", a.File)
			}
			if errors.Is(err, ErrNotBuilder) != tt.notBuilder {
				t.Errorf("errors.Is(%v, ErrNotBuilder) = %v, want %v", err, !tt.notBuilder, tt.notBuilder)
			}
			for _, p := range tt.wantErr {
				if p != ".attrs.json" {
					p = abs(p)
				}
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q does not name %s", err, p)
				}
			}
		})
	}
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
