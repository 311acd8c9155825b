//go:build linux

package rootscript

import (
	"archive/tar"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/layers"
)

// TestInodeReuse: files the script gave a fake owner or made as devices,
// then deleted, free their inode numbers, which a file system like ext4
// gives to the next files made. Those new files are the script's own,
// owned by root and regular: what was faked for a deleted file must not
// pass to them (it did, on ext4, making builds differ with the numbers
// the file system handed out; reprotest found it).
func TestInodeReuse(t *testing.T) {
	bb := busybox(t)
	tr := newTree(t)
	if err := tr.Add([]layers.Entry{layers.Dir("put", 0o755), {Name: "put/owned", Type: tar.TypeReg, Mode: 0o644, Uid: 1000, Gid: 100, Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		"set -e",
		"i=0; while [ $i -lt 40 ]; do touch old$i; chown 1000:100 old$i; mknod dev$i c 1 3; i=$((i+1)); done",
		"ls -i put/owned old* dev* | while read n f; do echo $n; done > freed",
		"rm -r put old* dev*",
		"i=0; while [ $i -lt 200 ]; do echo new > new$i; i=$((i+1)); done",
	}, "\n")
	got := runChanges(t, tr, script, bb)
	m := byName(got)
	freed := map[string]bool{}
	for _, n := range strings.Fields(content(t, m["freed"])) {
		freed[n] = true
	}
	if len(freed) != 81 {
		t.Fatalf("the script recorded %d inode numbers, want 81: %q", len(freed), content(t, m["freed"]))
	}
	news := 0
	for _, e := range got {
		if !strings.HasPrefix(e.Name, "new") {
			continue
		}
		news++
		if e.Type != tar.TypeReg || e.Uid != 0 || e.Gid != 0 || content(t, e) != "new\n" {
			t.Errorf("/%s: type %q owner %d:%d data %q, want a regular file of root holding \"new\\n\"", e.Name, e.Type, e.Uid, e.Gid, content(t, e))
		}
	}
	if news != 200 {
		t.Errorf("%d new files, want 200", news)
	}
}
