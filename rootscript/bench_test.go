//go:build linux

package rootscript

import (
	"context"
	"fmt"
	"os/exec"
	"testing"

	"github.com/nixlayer/nixlayer/layers"
)

// BenchmarkScript times a script that makes 100 files and chowns them,
// run by rootscript over a tree of 300 entries (namespaces, supervisor,
// capture), against the baseline of the same script run by a plain
// `sh -c` in a directory: the ratio of the two is the cost of running as a
// fake root.
func BenchmarkScript(b *testing.B) {
	sh := busybox(b)
	script := "for i in $(seq 100); do echo $i > f$i; chown 1000 f$i; done"
	var root []layers.Entry
	for i := 0; i < 300; i++ {
		root = append(root, layers.Symlink(fmt.Sprintf("bin/app%d", i), "/nix/store/x/bin/app"))
	}
	b.Run("baseline", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			cmd := exec.Command(sh, "-c", script)
			cmd.Dir = b.TempDir()
			// Its chowns fail unless run as root: only the time counts.
			cmd.Run()
		}
	})
	b.Run("rootscript", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			tr, err := New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			if err := tr.Add(root); err != nil {
				b.Fatal(err)
			}
			if err := tr.Run(context.Background(), Options{Name: "bench", Script: script, Shell: sh}); err != nil {
				b.Fatal(err)
			}
			if _, err := tr.Changes(); err != nil {
				b.Fatal(err)
			}
			tr.Close()
		}
	})
}
