package testutil

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestTree(t *testing.T) {
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "d", "f"), []byte("hi"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("d/f", filepath.Join(root, "l")); err != nil {
		t.Fatal(err)
	}
	got := Tree(t, root)
	want := map[string]string{
		".":   "drwxr-xr-x",
		"d":   "drwx------",
		"d/f": "-rw------- hi",
		"l":   "Lrwxrwxrwx -> d/f",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Tree = %q, want %q", got, want)
	}
	if got := Tree(t, filepath.Join(root, "d", "f")); !reflect.DeepEqual(got, map[string]string{".": "-rw------- hi"}) {
		t.Errorf("Tree of a file = %q", got)
	}

	tests := []struct {
		name string
		edit func(map[string]string)
		want []string
	}{
		{"same", func(map[string]string) {}, nil},
		{"changed", func(m map[string]string) { m["d/f"] = "-rw------- ho" }, []string{"d/f"}},
		{"missing", func(m map[string]string) { delete(m, "l") }, []string{"l"}},
		{"extra", func(m map[string]string) { m["x"] = "" }, []string{"x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := Tree(t, root)
			tc.edit(b)
			if got := TreeDiff(want, b); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("TreeDiff = %q, want %q", got, tc.want)
			}
		})
	}
}
