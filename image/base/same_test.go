package base

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nixlayer/nixlayer/layers"
)

func TestSameConflictFilter(t *testing.T) {
	x, err := openIndex(t, file(t, layersOf(tarOf(t,
		dir("usr/"), dir("usr/bin/"), regMode("usr/bin/tool", "tool\n", 0o755), sym("bin", "usr/bin"),
		dir("etc/"), reg("etc/hosts", "hosts\n"), sym("etc/alias", "hosts"), sym("lib", "nowhere"),
		ent{hdr: tar.Header{Name: "home/", Typeflag: tar.TypeDir, Mode: 0o755, Uid: 1000, Gid: 100}})).docker(t)))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "hosts")
	os.WriteFile(src, []byte("hosts\n"), 0o644)
	withSource := layers.File("etc/hosts", 0o644, nil)
	withSource.Source, withSource.Size = src, 6
	owned := layers.Dir("home", 0o755)
	owned.Uid, owned.Gid = 1000, 100

	cases := []struct {
		name     string
		e        layers.Entry
		same     bool
		conflict bool
	}{
		{"identical file by Data", layers.File("etc/hosts", 0o644, []byte("hosts\n")), true, false},
		{"identical file by Source", withSource, true, false},
		{"same name other content", layers.File("etc/hosts", 0o644, []byte("other\n")), false, false},
		{"same content other mode", layers.File("etc/hosts", 0o600, []byte("hosts\n")), false, false},
		{"through the base's bin -> usr/bin", layers.File("bin/tool", 0o755, []byte("tool\n")), true, false},
		{"identical symlink", layers.Symlink("etc/alias", "hosts"), true, false},
		{"other symlink target", layers.Symlink("etc/alias", "passwd"), false, false},
		{"identical directory", layers.Dir("usr", 0o755), true, false},
		{"directory other owner", layers.Dir("home", 0o755), false, false},
		{"directory same owner", owned, true, false},
		{"new file", layers.File("srv/new", 0o644, nil), false, false},
		{"dir over symlink to dir", layers.Dir("bin", 0o755), false, true},
		{"symlink over symlink to dir", layers.Symlink("bin", "/nix/store/x-bb/bin"), false, true},
		{"file over dir", layers.File("usr", 0o644, nil), false, true},
		{"symlink over dir", layers.Symlink("etc", "/nix/store/x-etc"), false, true},
		{"dir over dangling symlink", layers.Dir("lib", 0o755), false, false},
		{"below a file", layers.File("etc/hosts/x", 0o644, nil), false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			same, err := x.Same(c.e)
			if err != nil || same != c.same {
				t.Errorf("Same = %v, %v; want %v", same, err, c.same)
			}
			if _, conflict := x.Conflict(c.e); conflict != c.conflict {
				t.Errorf("Conflict = %v, want %v", conflict, c.conflict)
			}
		})
	}

	t.Run("Filter", func(t *testing.T) {
		in := []layers.Entry{layers.Dir("bin", 0o755), layers.File("bin/hello", 0o755, []byte("hi")), layers.Dir("usr", 0o755),
			layers.File("etc/hosts", 0o644, []byte("hosts\n")), layers.File("etc/new", 0o644, nil)}
		out, err := x.Filter(in)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range out {
			names = append(names, e.Name)
		}
		want := []string{"bin/hello", "usr", "etc/new"}
		if len(names) != len(want) || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
			t.Errorf("Filter kept %q, want %q", names, want)
		}
		_, err = x.Filter([]layers.Entry{layers.Symlink("etc", "/nix/store/x-etc")})
		if !errors.Is(err, ErrUnsafe) {
			t.Errorf("replacing a base directory: err = %v, want ErrUnsafe", err)
		}
	})
	t.Run("missing source", func(t *testing.T) {
		e := layers.File("etc/hosts", 0o644, nil)
		e.Source, e.Size = "/nonexistent/file", 6
		if _, err := x.Same(e); err == nil {
			t.Error("no error for a missing Source")
		}
	})
}
