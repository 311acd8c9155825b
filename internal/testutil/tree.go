package testutil

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// Tree describes root and everything below it (root itself is ".", or the
// only entry when root is a file), by path relative to root: the mode as
// fs.FileMode prints it, then for a regular file a space and its bytes, for
// a symlink " -> " and its target. Two trees are the same exactly when their
// maps are equal.
func Tree(t testing.TB, root string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		v := fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(data)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			v += " -> " + target
		}
		tree[rel] = v
		return nil
	})
	if err != nil {
		t.Fatalf("reading tree %s: %v", root, err)
	}
	return tree
}

// TreeDiff names, sorted, the paths that are in only one of two trees from
// Tree or whose entries differ, for a failure message.
func TreeDiff(a, b map[string]string) []string {
	var diff []string
	for p, v := range a {
		if w, ok := b[p]; !ok || w != v {
			diff = append(diff, p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			diff = append(diff, p)
		}
	}
	sort.Strings(diff)
	return diff
}
