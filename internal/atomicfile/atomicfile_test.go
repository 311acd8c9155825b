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
