package nixdb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/registration"
)

// makeTree writes a small tree with every kind of node NAR knows: an
// executable, a regular, an empty and a read-only file, an empty directory,
// a relative and a dangling absolute symlink.
func makeTree(t *testing.T, dir string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"bin", "share/emptydir", "share/sub"} {
		must(os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	files := []struct {
		name string
		mode os.FileMode
		data string
	}{
		{"bin/hello", 0o755, "#!/bin/sh\necho hi\n"},
		{"share/data.txt", 0o644, "data\n"},
		{"share/empty", 0o644, ""},
		{"share/sub/ro.txt", 0o444, "read only\n"},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		must(os.WriteFile(p, []byte(f.data), 0o644))
		must(os.Chmod(p, f.mode))
	}
	must(os.Symlink("share", filepath.Join(dir, "lib")))
	must(os.Symlink("/nix/store/00000000000000000000000000000000-dangling", filepath.Join(dir, "abs")))
}

// TestHashPath compares with `nix-hash --type sha256 --base32 <p>` and
// `nix-store --dump <p> | wc -c`, run by hand on the same trees (the
// end-to-end test tests/nixdb_test.go compares with the live nix-store).
func TestHashPath(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, filepath.Join(dir, "t"))
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "exe"), []byte("exec"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "emptyfile"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("target", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, hash string
		size       uint64
	}{
		{"t", "0qw43abhxc3y9mkrgagb5i3d9ls9czk94hn6yw4g4qxv2wcig1l2", 2016},
		{"file", "0rsv7kag23nvdpy4500mv2m0b4sm4c8fkgqrfsrmv1kgk77bi81c", 120},
		{"exe", "1svpwkh20lhfss2sb2bwbsv8xsylj0iqfby0rj0vy6vws46zcqxl", 152},
		{"emptyfile", "0ip26j2h11n1kgkz36rl4akv694yz65hr72q4kv4b3lxcbi65b3p", 112},
		{"link", "0x67g3311ihxwarw846p2jc8wbxmv9bd8ryh7qjpp6d8yb56536b", 120},
		{"emptydir", "0sjjj9z1dhilhpc8pq4154czrb79z9cm044jvn75kxcjv6v5l2m5", 96},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n, err := HashPath(filepath.Join(dir, tt.name))
			if err != nil {
				t.Fatal(err)
			}
			if h != "sha256:"+tt.hash || n != tt.size {
				t.Errorf("HashPath = %s, %d; want sha256:%s, %d", h, n, tt.hash, tt.size)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, _, err := HashPath(filepath.Join(dir, "nope"))
		if err == nil || !strings.Contains(err.Error(), "nope") {
			t.Errorf("HashPath(missing) error = %v, want one naming the path", err)
		}
	})
}

// storePath returns a syntactically valid store path in storeDir whose hash
// part is c repeated.
func storePath(storeDir string, c byte, name string) string {
	return storeDir + "/" + strings.Repeat(string(c), 32) + "-" + name
}

// tempStore makes a store directory with two paths on disk: a tree
// (referring to a file) and the file. It returns the graph without hashes.
func tempStore(t *testing.T) (*registration.Graph, string, string) {
	t.Helper()
	store := filepath.Join(t.TempDir(), "store")
	tree, file := storePath(store, 'a', "tree"), storePath(store, 'b', "file")
	makeTree(t, tree)
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := registration.NewGraph(store, []registration.PathInfo{
		{Path: tree, References: []string{file}},
		{Path: file},
	})
	if err != nil {
		t.Fatal(err)
	}
	return g, tree, file
}

func TestComplete(t *testing.T) {
	g, tree, file := tempStore(t)
	done, err := Complete(context.Background(), g, false)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]registration.PathInfo{
		tree: {NarHash: "sha256:0qw43abhxc3y9mkrgagb5i3d9ls9czk94hn6yw4g4qxv2wcig1l2", NarSize: 2016},
		file: {NarHash: "sha256:0rsv7kag23nvdpy4500mv2m0b4sm4c8fkgqrfsrmv1kgk77bi81c", NarSize: 120},
	}
	for p, w := range want {
		got, _ := done.Lookup(p)
		if got.NarHash != w.NarHash || got.NarSize != w.NarSize {
			t.Errorf("%s: got %s %d, want %s %d", p, got.NarHash, got.NarSize, w.NarHash, w.NarSize)
		}
	}
	if info, _ := done.Lookup(tree); len(info.References) != 1 || info.References[0] != file {
		t.Errorf("references of %s changed: %v", tree, info.References)
	}
	if info, _ := g.Lookup(tree); info.NarHash != "" {
		t.Errorf("Complete modified its input graph")
	}

	fileBase16 := "sha256:2ca0b8ce996f865db37619bfe91023559305aad8158042fc6ddb0ef1d43c5b67"
	// The same digest in base16 (nix-hash --type sha256) must pass the check.
	if h, _ := registration.NarHashBase16(want[file].NarHash); h != fileBase16 {
		t.Fatalf("base16 of the file hash = %s, the test's constant is stale", h)
	}
	bad := "sha256:" + strings.Repeat("0", 52)
	tests := []struct {
		name    string
		hash    string
		size    uint64
		check   bool
		wantErr string // "" = no error
	}{
		{"given kept without check", bad, 120, false, ""},
		{"base16 hash checked", fileBase16, 120, true, ""},
		{"wrong hash checked", bad, 120, true, "narHash on disk is"},
		{"wrong size checked", want[file].NarHash, 121, true, "narSize on disk is 120, the registration says 121"},
		{"hash without size is checked", bad, 0, false, "narHash on disk is"},
		{"invalid hash", "sha256:nothex", 0, true, "sha256:nothex"},
		{"md5 hash", "md5:d41d8cd98f00b204e9800998ecf8427e", 0, true, "md5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g2, err := registration.NewGraph(g.StoreDir(), []registration.PathInfo{{Path: file, NarHash: tt.hash, NarSize: tt.size}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = Complete(context.Background(), g2, tt.check)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Complete: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), file) {
				t.Fatalf("Complete error = %v, want one naming %s and containing %q", err, file, tt.wantErr)
			}
		})
	}
	t.Run("missing on disk", func(t *testing.T) {
		gone := storePath(g.StoreDir(), 'c', "gone")
		g3, err := registration.NewGraph(g.StoreDir(), []registration.PathInfo{{Path: gone}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Complete(context.Background(), g3, false); err == nil || !strings.Contains(err.Error(), gone) {
			t.Fatalf("Complete error = %v, want one naming %s", err, gone)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Complete(ctx, g, false); err == nil {
			t.Fatal("Complete with a cancelled context succeeded")
		}
	})
}
