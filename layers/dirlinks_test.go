package layers

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestContentsDirlinks(t *testing.T) {
	dir := t.TempDir()
	mk := func(p, content string) {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if strings.HasPrefix(content, "->") {
			if err := os.Symlink(content[2:], full); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("linked/usr/lib/liba.so", "a")
	mk("linked/lib", "->usr/lib")
	mk("real/lib/libb.so", "b")
	mk("loop/a/up", "->..")
	mk("dangling/lib", "->nowhere")
	mk("outside/etc", "->/etc")
	linked, real := filepath.Join(dir, "linked"), filepath.Join(dir, "real")
	kinds := func(es []Entry) map[string]byte {
		m := map[string]byte{}
		for _, e := range es {
			m[e.Name] = e.Type
		}
		return m
	}
	for _, tc := range []struct {
		name  string
		paths []string
		mode  ContentsMode
		want  map[string]byte // entries that must be there, by type
		not   []string
		err   string
	}{
		{"follow: the link is a directory, the other lib merges", []string{linked, real}, CopyFollowDirlinks,
			map[string]byte{"lib": tar.TypeDir, "lib/liba.so": tar.TypeReg, "lib/libb.so": tar.TypeReg, "usr/lib/liba.so": tar.TypeReg}, []string{"usr/lib/libb.so"}, ""},
		{"keep: the other lib goes through the link", []string{linked, real}, CopyKeepDirlinks,
			map[string]byte{"lib": tar.TypeSymlink, "usr/lib/liba.so": tar.TypeReg, "usr/lib/libb.so": tar.TypeReg}, []string{"lib/libb.so", "lib/liba.so"}, ""},
		{"copy: a clash is an error", []string{linked, real}, Copy, nil, nil, "once as a directory and once not"},
		{"follow: a loop is an error", []string{filepath.Join(dir, "loop")}, CopyFollowDirlinks, nil, nil, "a loop"},
		{"follow: a link out of the store stays a link", []string{filepath.Join(dir, "outside")}, CopyFollowDirlinks, map[string]byte{"etc": tar.TypeSymlink}, []string{"etc/passwd"}, ""},
		{"follow: a dangling link stays a link", []string{filepath.Join(dir, "dangling")}, CopyFollowDirlinks, map[string]byte{"lib": tar.TypeSymlink}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es, err := Contents(tc.paths, tc.mode)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := kinds(es)
			for n, typ := range tc.want {
				if got[n] != typ {
					t.Errorf("/%s: type %c, want %c (entries %v)", n, got[n], typ, got)
				}
			}
			for _, n := range tc.not {
				if _, ok := got[n]; ok {
					t.Errorf("/%s is there", n)
				}
			}
		})
	}
}
