package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/registration"
	"github.com/nixlayer/nixlayer/spec"
)

func TestWithoutReferences(t *testing.T) {
	const (
		hello = "/nix/store/00000000000000000000000000000001-hello"
		conf  = "/nix/store/00000000000000000000000000000002-app.conf"
		refs  = "/nix/store/00000000000000000000000000000003-nixlayer-references"
	)
	g, err := registration.NewGraph("", []registration.PathInfo{
		{Path: hello}, {Path: conf}, {Path: refs, References: []string{hello, conf}},
	})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := registration.NewGraph("", []registration.PathInfo{{Path: refs}, {Path: hello, References: []string{refs}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		g     *registration.Graph
		refs  string
		paths []string
		err   string
	}{
		{name: "left out, its references kept", g: g, refs: refs, paths: []string{hello, conf}},
		{name: "none", g: g, paths: []string{hello, conf, refs}},
		{name: "not in the graph", g: g, refs: "/nix/store/00000000000000000000000000000004-other", err: "is not in the closure graph"},
		{name: "referenced", g: bad, refs: refs, err: "store path " + hello + " references " + refs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := withoutReferences(tt.g, tt.refs)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, p := range got.Paths() {
				paths = append(paths, p.Path)
			}
			if !reflect.DeepEqual(paths, tt.paths) {
				t.Errorf("paths %q, want %q", paths, tt.paths)
			}
		})
	}
}

func TestScriptOnlyAndScan(t *testing.T) {
	const (
		hello   = "/nix/store/00000000000000000000000000000001-hello"
		glibc   = "/nix/store/00000000000000000000000000000002-glibc"
		bb      = "/nix/store/00000000000000000000000000000003-busybox"
		conf    = "/nix/store/00000000000000000000000000000004-app.conf"
		named   = "/nix/store/00000000000000000000000000000005-nixlayer-references"
		scripts = "/nix/store/00000000000000000000000000000006-nixlayer-script-references"
		data    = "/nix/store/00000000000000000000000000000007-data"
	)
	g, err := registration.NewGraph("", []registration.PathInfo{
		{Path: hello, References: []string{glibc, hello}}, {Path: glibc}, {Path: bb}, {Path: conf, References: []string{glibc}}, {Path: data},
		{Path: named, References: []string{conf}}, {Path: scripts, References: []string{hello, bb, conf, data}},
	})
	if err != nil {
		t.Fatal(err)
	}
	set := &spec.Settings{References: named, ScriptReferences: scripts}
	only, err := scriptOnly(g, set)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{hello, bb, data}; !reflect.DeepEqual(sorted(only), want) {
		t.Fatalf("scriptOnly = %q, want %q (conf and glibc are the config's)", only, want)
	}
	made := filepath.Join(t.TempDir(), "made")
	if err := os.WriteFile(made, []byte(strings.Repeat("x", 300<<10)+"exec "+hello[11:43]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		entries []layers.Entry
		want    []string
	}{
		{"nothing refers", []layers.Entry{layers.File("out", 0o644, []byte("ran "+"hello"))}, nil},
		{"file data", []layers.Entry{layers.File("out", 0o644, []byte("ran "+bb+"/bin/sh"))}, []string{bb}},
		{"file on disk, past a buffer", []layers.Entry{{Name: "made", Type: tar.TypeReg, Mode: 0o644, Size: 300<<10 + 38, Source: made}}, []string{hello}},
		{"symlink target", []layers.Entry{layers.Symlink("hello", hello)}, []string{hello}},
		{"name", []layers.Entry{layers.Dir("x/"+data[11:], 0o755)}, []string{data}},
		{"a store file is not read", []layers.Entry{{Name: "copied", Type: tar.TypeReg, Size: 10, Source: "/nix/store/00000000000000000000000000000009-x/f"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scanEntries(tc.entries, "/nix/store", only)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("found %q, want %q", got, tc.want)
			}
		})
	}
	t.Run("pruned", func(t *testing.T) {
		pg, err := withoutReferences(g, named, scripts)
		if err != nil {
			t.Fatal(err)
		}
		p := &planner{set: set, graph: pg, stores: pg, scriptOnly: only}
		if err := p.keepReferenced([]layers.Entry{layers.Symlink("hello", hello+"/bin/hello")}); err != nil {
			t.Fatal(err)
		}
		if got, want := storePaths(p.graph), []string{hello, glibc, conf}; !reflect.DeepEqual(sorted(got), want) {
			t.Errorf("graph %q, want %q", got, want)
		}
	})
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// BenchmarkScanEntries scans a 64 MiB file a script made (random bytes
// and text) for 1000 candidates, beside the sha256 of the same bytes that
// writing its layer costs anyway (ns/op of each, same run).
func BenchmarkScanEntries(b *testing.B) {
	f := filepath.Join(b.TempDir(), "made")
	data := make([]byte, 64<<20)
	rand.New(rand.NewSource(1)).Read(data[:32<<20])
	copy(data[32<<20:], bytes.Repeat([]byte("/nix/store/0c2dxyz4k3j1ni3lamh5qiqfyr3zzq6m-x lib "), 32<<20/50))
	if err := os.WriteFile(f, data, 0o644); err != nil {
		b.Fatal(err)
	}
	var cands []string
	for i := 0; i < 1000; i++ {
		cands = append(cands, fmt.Sprintf("/nix/store/%032d-p", i))
	}
	e := []layers.Entry{{Name: "made", Type: tar.TypeReg, Size: int64(len(data)), Source: f}}
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			if _, err := scanEntries(e, "/nix/store", cands); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sha256", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for i := 0; i < b.N; i++ {
			r, _ := os.Open(f)
			h := sha256.New()
			io.Copy(h, r)
			r.Close()
		}
	})
}
