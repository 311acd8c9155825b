package layers

import (
	"archive/tar"
	"reflect"
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want string
		err      string // substring of the error; empty when none is expected
	}{
		{in: "/etc/passwd", want: "etc/passwd"},
		{in: "./etc//passwd", want: "etc/passwd"},
		{in: "etc/passwd/", want: "etc/passwd"},
		{in: "bin", want: "bin"},
		{in: "/nix/store/abc-x/bin/", want: "nix/store/abc-x/bin"},
		{in: "a/./b", want: "a/b"},
		{in: "..foo/bar", want: "..foo/bar"},
		{in: "a/b..c", want: "a/b..c"},
		{in: "../etc", err: `path "../etc" leaves the image root`},
		{in: "a/../../etc", err: "leaves the image root"},
		{in: "/", err: `path "/" names the image root`},
		{in: "", err: "names the image root"},
		{in: ".", err: "names the image root"},
		{in: "//./", err: "names the image root"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := CleanName(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("CleanName(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CleanName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestLessPath(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"a", "b", true},
		{"b", "a", false},
		{"a", "a", false},
		{"a", "a/b", true},
		{"a/b", "a", false},
		// Component-wise: a directory's contents come before a sibling
		// whose name extends the directory's with a byte below '/'.
		{"a/b", "a-b", true},
		{"a-b", "a/b", false},
		{"a/z", "a.b", true},
		{"a/b/c", "a/b", false},
		{"a/b/c", "a/bc", true},
		{"a/bc", "a/b/c", false},
		{"nix/store/x", "nix/store-y", true},
		{"B", "a", true}, // bytes, not locale
		{"", "a", true},
	}
	for _, tt := range tests {
		t.Run(tt.a+" < "+tt.b, func(t *testing.T) {
			if got := lessPath(tt.a, tt.b); got != tt.want {
				t.Errorf("lessPath(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestSort(t *testing.T) {
	names := []string{"usr/bin", "a-b", "nix/store/x/y", "nix/store", "a/b", "etc", "a", "nix/store/x", "nix", "nix/var", "a.txt"}
	var entries []Entry
	for _, n := range names {
		entries = append(entries, Dir(n, 0o755))
	}
	Sort(entries)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name)
	}
	want := []string{"nix", "nix/store", "a", "a/b", "a-b", "a.txt", "etc", "nix/store/x", "nix/store/x/y", "nix/var", "usr/bin"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Sort order\n got %q\nwant %q", got, want)
	}
}

func TestEntryHelpers(t *testing.T) {
	tests := []struct {
		name string
		got  Entry
		want Entry
	}{
		{"dir", Dir("etc", 0o755), Entry{Name: "etc", Type: tar.TypeDir, Mode: 0o755, Uname: "root", Gname: "root"}},
		{"file", File("etc/motd", 0o644, []byte("hi\n")), Entry{Name: "etc/motd", Type: tar.TypeReg, Mode: 0o644, Size: 3, Data: []byte("hi\n"), Uname: "root", Gname: "root"}},
		{"symlink", Symlink("bin/sh", "/nix/store/x-bash/bin/sh"), Entry{Name: "bin/sh", Type: tar.TypeSymlink, Mode: 0o777, Linkname: "/nix/store/x-bash/bin/sh", Uname: "root", Gname: "root"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %+v\nwant %+v", tt.got, tt.want)
			}
		})
	}
}
