package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFileAndDir(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		run  func(out string) error
		ok   bool
	}{
		{"file", func(out string) error {
			return File(out, func(f *os.File) error { _, err := f.WriteString("data"); return err })
		}, true},
		{"file fails", func(out string) error {
			return File(out, func(f *os.File) error { f.WriteString("half"); return boom })
		}, false},
		{"dir", func(out string) error {
			return Dir(out, func(d string) error { return os.WriteFile(filepath.Join(d, "x"), []byte("x"), 0o644) })
		}, true},
		{"dir fails", func(out string) error {
			return Dir(out, func(d string) error { os.WriteFile(filepath.Join(d, "x"), nil, 0o644); return boom })
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			err := tt.run(out)
			entries, _ := os.ReadDir(dir)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if len(entries) != 1 || entries[0].Name() != "out" {
					t.Errorf("directory holds %v, want only out", entries)
				}
				return
			}
			if !errors.Is(err, boom) {
				t.Errorf("error %v, want boom wrapped", err)
			}
			if len(entries) != 0 {
				t.Errorf("a failure left %v", entries)
			}
		})
	}
}

// TestTempDir: as a Nix builder the temporaries go to $NIX_BUILD_TOP when a
// rename from there reaches the output (Nix removes the build directory
// after the build, even a killed one); on another filesystem, or outside
// Nix, next to the output under a name Nix's garbage collector deletes.
func TestTempDir(t *testing.T) {
	tests := []struct {
		name  string
		top   func(t *testing.T) string
		inTop bool
	}{
		{"outside Nix", func(t *testing.T) string { return "" }, false},
		{"build dir on the output's filesystem", func(t *testing.T) string { return t.TempDir() }, true},
		{"build dir on another filesystem", func(t *testing.T) string {
			d, err := os.MkdirTemp("/dev/shm", "atomicfile-test-")
			if err != nil {
				t.Skip("no /dev/shm:", err)
			}
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top := tt.top(t)
			t.Setenv("NIX_BUILD_TOP", top)
			out := filepath.Join(t.TempDir(), "out")
			var tmp string
			err := File(out, func(f *os.File) error { tmp = f.Name(); return nil })
			if err != nil {
				t.Fatal(err)
			}
			wantDir := filepath.Dir(out)
			if tt.inTop {
				wantDir = top
			}
			if filepath.Dir(tmp) != wantDir {
				t.Errorf("temporary %s, want it in %s", tmp, wantDir)
			}
			if b := filepath.Base(tmp); b[0] != '.' || len(b) < 4 || b[:4] == ".gc-" {
				t.Errorf("temporary name %q must start with a dot and not with .gc-", b)
			}
			if top != "" {
				if left, _ := os.ReadDir(top); len(left) != 0 {
					t.Errorf("%s holds %v after the write", top, left)
				}
			}
			if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 1 {
				t.Errorf("%s holds %v, want only out", filepath.Dir(out), left)
			}
		})
	}
}
