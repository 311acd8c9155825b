package nixdb

import (
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/registration"
)

func TestMerge(t *testing.T) {
	s := registration.DefaultStoreDir
	libc, sh, app := storePath(s, 'a', "libc"), storePath(s, 'b', "sh"), storePath(s, 'c', "app")
	h1 := "sha256:" + strings.Repeat("1", 64)
	h2 := "sha256:" + strings.Repeat("2", 64)
	graph := func(infos ...registration.PathInfo) *registration.Graph {
		g, err := registration.NewGraph(s, infos)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	base := graph(
		registration.PathInfo{Path: libc, NarHash: h1, NarSize: 1},
		registration.PathInfo{Path: sh, NarHash: h1, NarSize: 2, References: []string{libc}},
	)
	ours := graph(
		registration.PathInfo{Path: libc, NarHash: h2, NarSize: 3},
		registration.PathInfo{Path: app, NarHash: h2, NarSize: 4, References: []string{libc, app}},
	)
	m, err := Merge(base, ours)
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != 3 {
		t.Fatalf("merged graph has %d paths, want 3", m.Len())
	}
	if p, _ := m.Lookup(libc); p.NarHash != h2 || p.NarSize != 3 {
		t.Errorf("conflicting path %s: got %s %d, want ours (%s 3)", libc, p.NarHash, p.NarSize, h2)
	}
	if p, _ := m.Lookup(sh); p.NarSize != 2 || len(p.References) != 1 {
		t.Errorf("base-only path %s lost its registration: %+v", sh, p)
	}

	t.Run("different store dirs", func(t *testing.T) {
		other, err := registration.NewGraph("/opt/store", []registration.PathInfo{{Path: storePath("/opt/store", 'a', "x"), NarHash: h1, NarSize: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Merge(other, ours); err == nil || !strings.Contains(err.Error(), "/opt/store") {
			t.Fatalf("Merge error = %v, want one naming /opt/store", err)
		}
	})
	t.Run("ours drops a reference base needs", func(t *testing.T) {
		// ours registers sh without libc in its closure view: sh's own
		// references win, and they must still be in the merged closure.
		ours := graph(registration.PathInfo{Path: sh, NarHash: h2, NarSize: 2})
		m, err := Merge(base, ours)
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := m.Lookup(sh); len(p.References) != 0 || m.Len() != 2 {
			t.Errorf("merged %s = %+v (graph of %d), want ours without references in a graph of 2", sh, p, m.Len())
		}
	})
}
