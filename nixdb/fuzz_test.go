package nixdb

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadDB feeds arbitrary bytes as a base image's db.sqlite: ReadDB must
// return paths or an error, never panic or hang.
func FuzzReadDB(f *testing.F) {
	b, err := Encode(context.Background(), fixedGraph(f), 1)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:100])
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		file := filepath.Join(dir, "db.sqlite")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "schema"), []byte("10"), 0o644); err != nil {
			t.Fatal(err)
		}
		infos, err := ReadDB(file)
		if err == nil {
			for _, p := range infos {
				if p.Path == "" {
					t.Errorf("ReadDB returned an empty path without an error")
				}
			}
		}
	})
}
