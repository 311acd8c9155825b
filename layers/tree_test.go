package layers

import (
	"archive/tar"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// treeNode is one file of a test tree: a directory (dir set), a regular file
// with data, a symlink to target, or a hard link to another treeNode (linkTo,
// relative to the root).
type treeNode struct {
	path   string
	dir    bool
	mode   uint32 // Unix permission bits, with 0o4000/0o2000/0o1000 for setuid/setgid/sticky
	data   string
	target string // symlink target
	linkTo string // hard link to this path of the same tree
}

// makeTree creates nodes below root (which must exist) and sets every mode
// explicitly, children before parents, so that the umask plays no part.
// The root gets rootMode. Write bits come back at cleanup so t.TempDir can
// remove the tree even when not run as root.
func makeTree(t *testing.T, root string, rootMode uint32, nodes []treeNode) {
	t.Helper()
	for _, n := range nodes {
		p := filepath.Join(root, n.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case n.dir:
			err = os.Mkdir(p, 0o755)
		case n.target != "":
			err = os.Symlink(n.target, p)
		case n.linkTo != "":
			err = os.Link(filepath.Join(root, n.linkTo), p)
		default:
			err = os.WriteFile(p, []byte(n.data), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		if n.target != "" || n.linkTo != "" {
			continue
		}
		if err := os.Chmod(filepath.Join(root, n.path), unixMode(n.mode)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(root, unixMode(rootMode)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
	})
}

// unixMode turns Unix mode bits into an os.FileMode, whose setuid, setgid
// and sticky flags are not the Unix bits.
func unixMode(m uint32) os.FileMode {
	mode := os.FileMode(m & 0o777)
	for bit, flag := range map[uint32]os.FileMode{0o4000: os.ModeSetuid, 0o2000: os.ModeSetgid, 0o1000: os.ModeSticky} {
		if m&bit != 0 {
			mode |= flag
		}
	}
	return mode
}

// entrySummary is an entry without its content source, for comparisons.
type entrySummary struct {
	Name     string
	Type     byte
	Mode     int64
	Linkname string
	Size     int64
	Data     string
}

func summarize(t *testing.T, entries []Entry) []entrySummary {
	t.Helper()
	var out []entrySummary
	for _, e := range entries {
		if e.Uid != 0 || e.Gid != 0 || e.Uname != "root" || e.Gname != "root" {
			t.Errorf("%s: owner %d:%d %s:%s, want 0:0 root:root", e.Name, e.Uid, e.Gid, e.Uname, e.Gname)
		}
		s := entrySummary{Name: e.Name, Type: e.Type, Mode: e.Mode, Linkname: e.Linkname, Size: e.Size, Data: string(e.Data)}
		if e.Source != "" {
			data, err := os.ReadFile(e.Source)
			if err != nil {
				t.Fatal(err)
			}
			s.Data = string(data)
		}
		out = append(out, s)
	}
	return out
}

func summaryByName(s []entrySummary) map[string]entrySummary {
	m := map[string]entrySummary{}
	for _, e := range s {
		m[e.Name] = e
	}
	return m
}

func TestTree(t *testing.T) {
	root := filepath.Join(t.TempDir(), "pkg")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	makeTree(t, root, 0o555, []treeNode{
		{path: "bin", dir: true, mode: 0o555},
		{path: "bin/hello", mode: 0o555, data: "#!/bin/sh\n"},
		{path: "bin/su", mode: 0o4555, data: "su"},
		{path: "bin/sh", target: "/nix/store/missing-busybox/bin/busybox"},
		{path: "bin/hi", target: "hello"},
		{path: "bin/hello2", linkTo: "bin/hello"},
		{path: "share", dir: true, mode: 0o1777},
		{path: "share/empty", mode: 0o444},
		{path: "share/g", mode: 0o2755, data: "g"},
		{path: "share/emptydir", dir: true, mode: 0o700},
	})
	want := []entrySummary{
		{Name: "nix/store/x-pkg", Type: tar.TypeDir, Mode: 0o555},
		{Name: "nix/store/x-pkg/bin", Type: tar.TypeDir, Mode: 0o555},
		{Name: "nix/store/x-pkg/bin/hello", Type: tar.TypeReg, Mode: 0o555, Size: 10, Data: "#!/bin/sh\n"},
		{Name: "nix/store/x-pkg/bin/hello2", Type: tar.TypeReg, Mode: 0o555, Size: 10, Data: "#!/bin/sh\n"},
		{Name: "nix/store/x-pkg/bin/hi", Type: tar.TypeSymlink, Mode: 0o777, Linkname: "hello"},
		{Name: "nix/store/x-pkg/bin/sh", Type: tar.TypeSymlink, Mode: 0o777, Linkname: "/nix/store/missing-busybox/bin/busybox"},
		{Name: "nix/store/x-pkg/bin/su", Type: tar.TypeReg, Mode: 0o4555, Size: 2, Data: "su"},
		{Name: "nix/store/x-pkg/share", Type: tar.TypeDir, Mode: 0o1777},
		{Name: "nix/store/x-pkg/share/empty", Type: tar.TypeReg, Mode: 0o444},
		{Name: "nix/store/x-pkg/share/emptydir", Type: tar.TypeDir, Mode: 0o700},
		{Name: "nix/store/x-pkg/share/g", Type: tar.TypeReg, Mode: 0o2755, Size: 1, Data: "g"},
	}
	for _, dir := range []string{root, root + "/", root + "//", filepath.Join(root, "bin", "..")} {
		t.Run(dir, func(t *testing.T) {
			entries, err := Tree(dir, "nix/store/x-pkg")
			if err != nil {
				t.Fatal(err)
			}
			got := summarize(t, entries)
			sort.Slice(got, func(i, j int) bool { return got[i].Name < got[j].Name })
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Tree(%q)\n got %+v\nwant %+v", dir, got, want)
			}
		})
	}

	t.Run("store path", func(t *testing.T) {
		store := filepath.Join(t.TempDir(), "store")
		p := filepath.Join(store, "0c9hsfcbdnvywwclq1xxd1wbbi6ngvyd-x")
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		makeTree(t, p, 0o555, []treeNode{{path: "f", mode: 0o444, data: "f"}})
		entries, err := StorePath(p)
		if err != nil {
			t.Fatal(err)
		}
		got := summarize(t, entries)
		// A store path lands in the image where it is on this machine:
		// here in a store directory that is not /nix/store.
		name := strings.TrimPrefix(p, "/")
		want := []entrySummary{
			{Name: name, Type: tar.TypeDir, Mode: 0o555},
			{Name: name + "/f", Type: tar.TypeReg, Mode: 0o444, Size: 1, Data: "f"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("StorePath\n got %+v\nwant %+v", got, want)
		}
	})
}

func TestTreeErrors(t *testing.T) {
	dir := t.TempDir()
	fifoDir := filepath.Join(dir, "withfifo")
	if err := os.Mkdir(fifoDir, 0o755); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(fifoDir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
		want []string
	}{
		{"missing", filepath.Join(dir, "missing"), []string{filepath.Join(dir, "missing"), "no such file"}},
		{"fifo", fifoDir, []string{fifo, "only files, directories and symlinks"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Tree(tt.dir, "x")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func entryNames(entries []Entry) []string {
	var s []string
	for _, e := range entries {
		s = append(s, e.Name)
	}
	return s
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name   string
		groups [][]Entry
		want   []Entry
	}{
		{
			name:   "adds missing parents, nix first",
			groups: [][]Entry{{File("nix/store/x-a/bin/a", 0o555, nil), File("etc/motd", 0o644, nil)}},
			want: []Entry{
				Dir("nix", 0o755), Dir("nix/store", 0o755),
				Dir("etc", 0o755), File("etc/motd", 0o644, nil),
				Dir("nix/store/x-a", 0o755), Dir("nix/store/x-a/bin", 0o755), File("nix/store/x-a/bin/a", 0o555, nil),
			},
		},
		{
			name:   "keeps an explicit parent's mode",
			groups: [][]Entry{{File("bin/a", 0o555, nil)}, {Dir("bin", 0o555)}},
			want:   []Entry{Dir("bin", 0o555), File("bin/a", 0o555, nil)},
		},
		{
			name:   "a later entry replaces an earlier one",
			groups: [][]Entry{{File("etc/motd", 0o644, []byte("one"))}, {File("etc/motd", 0o600, []byte("two")), Dir("etc", 0o700)}},
			want:   []Entry{Dir("etc", 0o700), File("etc/motd", 0o600, []byte("two"))},
		},
		{
			name:   "a directory named twice is kept once",
			groups: [][]Entry{{Dir("nix", 0o755), Dir("nix/store", 0o755)}, {Dir("nix/store", 0o755), Dir("nix", 0o755)}},
			want:   []Entry{Dir("nix", 0o755), Dir("nix/store", 0o755)},
		},
		{
			name:   "deep parents of one entry",
			groups: [][]Entry{{Symlink("a/b/c/d", "x"), Dir("a/b", 0o700)}},
			want:   []Entry{Dir("a", 0o755), Dir("a/b", 0o700), Dir("a/b/c", 0o755), Symlink("a/b/c/d", "x")},
		},
		{
			name:   "component-wise order",
			groups: [][]Entry{{File("a-b", 0o644, nil), File("a/b", 0o644, nil), File("a.b", 0o644, nil)}},
			want:   []Entry{Dir("a", 0o755), File("a/b", 0o644, nil), File("a-b", 0o644, nil), File("a.b", 0o644, nil)},
		},
		{name: "empty", groups: nil, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Merge(tt.groups...)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Merge\n got %q\nwant %q\n got %+v", entryNames(got), entryNames(tt.want), got)
			}
		})
	}
}

func TestContents(t *testing.T) {
	store := t.TempDir()
	mk := func(name string, rootMode uint32, nodes []treeNode) string {
		p := filepath.Join(store, name)
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		makeTree(t, p, rootMode, nodes)
		return p
	}
	one := mk("aaaa-one", 0o555, []treeNode{
		{path: "bin", dir: true, mode: 0o555},
		{path: "bin/hello", mode: 0o555, data: "one"},
		{path: "bin/sh", target: "/nix/store/zzz-busybox/bin/busybox"},
		{path: "share/one", mode: 0o444, data: "1"},
	})
	two := mk("bbbb-two", 0o555, []treeNode{
		{path: "bin", dir: true, mode: 0o755},
		{path: "bin/hello", mode: 0o555, data: "two"},
		{path: "bin/other", mode: 0o555, data: "other"},
		{path: "etc", dir: true, mode: 0o755},
	})
	etcFile := mk("cccc-etcfile", 0o555, []treeNode{{path: "etc", mode: 0o444, data: "not a dir"}})
	file := filepath.Join(store, "dddd-file")
	if err := os.WriteFile(file, []byte("a file"), 0o444); err != nil {
		t.Fatal(err)
	}

	copyWant := []entrySummary{
		{Name: "bin", Type: tar.TypeDir, Mode: 0o555},
		{Name: "bin/hello", Type: tar.TypeReg, Mode: 0o555, Size: 3, Data: "one"},
		{Name: "bin/sh", Type: tar.TypeSymlink, Mode: 0o777, Linkname: "/nix/store/zzz-busybox/bin/busybox"},
		{Name: "share", Type: tar.TypeDir, Mode: 0o755},
		{Name: "share/one", Type: tar.TypeReg, Mode: 0o444, Size: 1, Data: "1"},
		{Name: "bin/other", Type: tar.TypeReg, Mode: 0o555, Size: 5, Data: "other"},
		{Name: "etc", Type: tar.TypeDir, Mode: 0o755},
	}
	linkWant := []entrySummary{
		{Name: "bin", Type: tar.TypeDir, Mode: 0o555},
		{Name: "bin/hello", Type: tar.TypeSymlink, Mode: 0o777, Linkname: one + "/bin/hello"},
		{Name: "bin/sh", Type: tar.TypeSymlink, Mode: 0o777, Linkname: one + "/bin/sh"},
		{Name: "share", Type: tar.TypeDir, Mode: 0o755},
		{Name: "share/one", Type: tar.TypeSymlink, Mode: 0o777, Linkname: one + "/share/one"},
		{Name: "bin/other", Type: tar.TypeSymlink, Mode: 0o777, Linkname: two + "/bin/other"},
		{Name: "etc", Type: tar.TypeDir, Mode: 0o755},
	}
	tests := []struct {
		name  string
		paths []string
		mode  ContentsMode
		want  []entrySummary
		err   []string
	}{
		{name: "copy, first wins", paths: []string{one, two}, mode: Copy, want: copyWant},
		{name: "link makes symlinks", paths: []string{one, two}, mode: Link, want: linkWant},
		{name: "unclean paths", paths: []string{one + "/", two + "//"}, mode: Link, want: linkWant},
		{name: "a file adds nothing", paths: []string{file}, mode: Copy, want: nil},
		{name: "a file among others", paths: []string{file, one, two}, mode: Copy, want: copyWant},
		{name: "dir then file conflict", paths: []string{two, etcFile}, mode: Copy, err: []string{two, etcFile, "/etc", "once as a directory and once not"}},
		{name: "file then dir conflict", paths: []string{etcFile, two}, mode: Copy, err: []string{etcFile, two, "/etc"}},
		{name: "conflict in link mode", paths: []string{etcFile, two}, mode: Link, err: []string{etcFile, two, "/etc"}},
		{name: "missing", paths: []string{one, filepath.Join(store, "eeee-missing")}, mode: Copy, err: []string{filepath.Join(store, "eeee-missing"), "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := Contents(tt.paths, tt.mode)
			if tt.err != nil {
				if err == nil {
					t.Fatalf("no error; entries %q", entryNames(entries))
				}
				for _, w := range tt.err {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := summarize(t, entries)
			if !reflect.DeepEqual(summaryByName(got), summaryByName(tt.want)) || len(got) != len(tt.want) {
				t.Errorf("Contents\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestStoreDirs: the directory entries above store paths come from the
// paths' own store directory, once each, parents first; /nix/store gives
// exactly the nix and nix/store of every layer so far.
func TestStoreDirs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		paths []string
		want  []string
	}{
		{"default store", []string{"/nix/store/a-x", "/nix/store/b-y"}, []string{"nix", "nix/store"}},
		{"other store", []string{"/tmp/x/store/a-x"}, []string{"tmp", "tmp/x", "tmp/x/store"}},
		{"unclean", []string{"//opt//store/a-x/"}, []string{"opt", "opt/store"}},
		{"two stores", []string{"/b/store/a-x", "/a/store/a-x"}, []string{"a", "a/store", "b", "b/store"}},
		{"none", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := StoreDirs(tc.paths)
			for _, e := range got {
				if e.Type != tar.TypeDir || e.Mode != 0o755 || e.Uname != "root" {
					t.Errorf("%s: type %c mode %o owner %s, want a directory 0755 root", e.Name, e.Type, e.Mode, e.Uname)
				}
			}
			if names := entryNames(got); !reflect.DeepEqual(names, tc.want) {
				t.Errorf("StoreDirs(%q) = %q, want %q", tc.paths, names, tc.want)
			}
		})
	}
	if got := entryNames(StoreDir("/gnu/store")); !reflect.DeepEqual(got, []string{"gnu", "gnu/store"}) {
		t.Errorf("StoreDir(/gnu/store) = %q", got)
	}
}
