package base

import (
	"slices"
	"strings"
	"testing"
)

func TestWhiteouts(t *testing.T) {
	lower := tarOf(t, dir("a/"), reg("a/x", "x"), reg("a/y", "y"), dir("a/sub/"), reg("a/sub/z", "z"), reg("top", "t"),
		dir("usr/"), dir("usr/bin/"), reg("usr/bin/sh", "sh"), sym("bin", "usr/bin"))
	cases := []struct {
		name  string
		upper []byte
		want  []string
	}{
		{"file whiteout", tarOf(t, reg("a/.wh.x", "")),
			[]string{"a 5 755", "a/sub 5 755", "a/sub/z 0 644 1", "a/y 0 644 1", "bin 2 777 -> usr/bin", "top 0 644 1", "usr 5 755", "usr/bin 5 755", "usr/bin/sh 0 644 2"}},
		{"directory whiteout removes the tree", tarOf(t, reg("a/.wh.sub", "")),
			[]string{"a 5 755", "a/x 0 644 1", "a/y 0 644 1", "bin 2 777 -> usr/bin", "top 0 644 1", "usr 5 755", "usr/bin 5 755", "usr/bin/sh 0 644 2"}},
		{"opaque directory keeps this layer's files", tarOf(t, dir("a/"), reg("a/.wh..wh..opq", ""), reg("a/new", "n")),
			[]string{"a 5 755", "a/new 0 644 1", "bin 2 777 -> usr/bin", "top 0 644 1", "usr 5 755", "usr/bin 5 755", "usr/bin/sh 0 644 2"}},
		{"opaque after this layer's files", tarOf(t, reg("a/new", "n"), dir("a/sub/"), reg("a/sub/w", "w"), reg("a/.wh..wh..opq", "")),
			[]string{"a 5 755", "a/new 0 644 1", "a/sub 5 755", "a/sub/w 0 644 1", "bin 2 777 -> usr/bin", "top 0 644 1", "usr 5 755", "usr/bin 5 755", "usr/bin/sh 0 644 2"}},
		{"whiteout does not hide this layer's file", tarOf(t, reg("a/x", "new!"), reg("a/.wh.x", "")),
			[]string{"a 5 755", "a/sub 5 755", "a/sub/z 0 644 1", "a/x 0 644 4", "a/y 0 644 1", "bin 2 777 -> usr/bin", "top 0 644 1", "usr 5 755", "usr/bin 5 755", "usr/bin/sh 0 644 2"}},
		{"whiteout then re-create", tarOf(t, reg(".wh.top", ""), dir("top/"), reg("top/f", "f")),
			[]string{"a 5 755", "a/sub 5 755", "a/sub/z 0 644 1", "a/x 0 644 1", "a/y 0 644 1", "bin 2 777 -> usr/bin", "top 5 755", "top/f 0 644 1", "usr 5 755", "usr/bin 5 755", "usr/bin/sh 0 644 2"}},
		{"whiteout through a symlinked directory", tarOf(t, reg("bin/.wh.sh", "")),
			[]string{"a 5 755", "a/sub 5 755", "a/sub/z 0 644 1", "a/x 0 644 1", "a/y 0 644 1", "bin 2 777 -> usr/bin", "top 0 644 1", "usr 5 755", "usr/bin 5 755"}},
		{"whiteout of a missing file", tarOf(t, reg("nope/.wh.x", ""), reg(".wh.nothing", "")), nil},
		{"aufs metadata is ignored", tarOf(t, reg(".wh..wh.plnk", ""), reg("a/.wh..wh.aufs", "")), nil},
	}
	base := []string{"a 5 755", "a/sub 5 755", "a/sub/z 0 644 1", "a/x 0 644 1", "a/y 0 644 1", "bin 2 777 -> usr/bin", "top 0 644 1", "usr 5 755", "usr/bin 5 755", "usr/bin/sh 0 644 2"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, err := openIndex(t, file(t, layersOf(lower, c.upper).docker(t)))
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			if want == nil {
				want = base
			}
			full := want
			if got := summary(x); !slices.Equal(got, full) {
				t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(full, "\n"))
			}
		})
	}
}
