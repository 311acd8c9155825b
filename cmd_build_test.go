package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestBuildImageStoreDir: build-image reads the closure in the store
// directory $NIX_STORE names (Nix sets it for every builder), as a builder
// with structured attrs and with flags, and puts the store path there in
// the image; without it the closure must be in /nix/store.
func TestBuildImageStoreDir(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	p := filepath.Join(store, "0c9hsfcbdnvywwclq1xxd1wbbi6ngvyd-hello")
	if err := os.MkdirAll(filepath.Join(p, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "bin", "hello"), []byte("hi\n"), 0o555); err != nil {
		t.Fatal(err)
	}
	closure := `[{"path":"` + p + `","references":[]}]`
	closureFile := filepath.Join(dir, "closure.json")
	if err := os.WriteFile(closureFile, []byte(closure), 0o644); err != nil {
		t.Fatal(err)
	}
	out := func(name string) string { return filepath.Join(dir, name) }
	attrs := filepath.Join(dir, "attrs.json")
	if err := os.WriteFile(attrs, []byte(`{"outputs":{"out":"`+out("attrs.tar")+`"},"nixlayer":{"name":"x","includeNixDB":true},"closure":`+closure+`}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir) // no ./.attrs.json here
	tests := []struct {
		name, attrs, nixStore, out string
		args                       []string
		wantErr                    string
	}{
		{"attrs", attrs, store, out("attrs.tar"), nil, ""},
		{"flags", "", store, out("flags.tar"), []string{"--closure", closureFile, "--out", out("flags.tar"), "--name", "x", "--include-nix-db"}, ""},
		{"attrs, default store", attrs, "", "", nil, "is not a store path directly inside /nix/store"},
		{"flags, default store", "", "", "", []string{"--closure", closureFile, "--out", out("none.tar"), "--name", "x"}, "is not a store path directly inside /nix/store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NIX_ATTRS_JSON_FILE", tt.attrs)
			t.Setenv("NIX_STORE", tt.nixStore)
			app := newApp()
			app.Writer, app.ErrWriter = io.Discard, io.Discard
			err := app.Run(append([]string{"nixlayer", "build-image"}, tt.args...))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Unpacked with skopeo and umoci, as a runtime sees it.
			tree := testutil.Tree(t, testutil.Unpack(t, tt.out))
			for _, want := range []string{strings.TrimPrefix(p, "/") + "/bin/hello", "nix/var/nix/db/db.sqlite"} {
				if _, ok := tree[want]; !ok {
					t.Errorf("the image has no /%s", want)
				}
			}
			if _, ok := tree["nix/store"]; ok {
				t.Errorf("the image has /nix/store; its store is %s", store)
			}
		})
	}
}
