//go:build linux

package rootscript

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/layers"
)

// TestChangesLeftInTree: what the script made stays in the tree (Source),
// is written as it was, and a file changed after Changes is an error of
// the layer writer rather than a layer other than planned; Embed copies
// the files into the entries within its bound, naming the file over it.
func TestChangesLeftInTree(t *testing.T) {
	sh := busybox(t)
	changes := func(t *testing.T) (*Tree, []layers.Entry) {
		tr := newTree(t)
		if err := tr.Run(context.Background(), Options{Name: "fakeRootCommands", Script: "echo hello > a && head -c 1000 /dev/zero > b", Shell: sh}); err != nil {
			t.Fatal(err)
		}
		got, err := tr.Changes()
		if err != nil {
			t.Fatal(err)
		}
		return tr, got
	}
	write := func(es []layers.Entry) error {
		_, err := layers.Write(io.Discard, es, time.Unix(1, 0), layers.None)
		return err
	}
	t.Run("written from the tree", func(t *testing.T) {
		tr, got := changes(t)
		a := byName(got)["a"]
		if a.Source == "" || !strings.HasPrefix(a.Source, tr.Dir()+"/") || a.Data != nil || a.Size != 6 {
			t.Fatalf("/a: source %q, %d bytes of data, size %d; want the tree's file of 6 bytes", a.Source, len(a.Data), a.Size)
		}
		if err := write(got); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("changed after", func(t *testing.T) {
		tr, got := changes(t)
		if err := os.WriteFile(tr.Dir()+"/a", []byte("hello, world\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := write(got); err == nil || !strings.Contains(err.Error(), "for /a: it is 13 bytes, not the 6") {
			t.Errorf("got %v, want an error naming /a and its sizes", err)
		}
	})
	t.Run("embedded", func(t *testing.T) {
		tr, got := changes(t)
		if err := tr.Embed(got, 1006, "fakeRootCommands"); err != nil {
			t.Fatal(err)
		}
		tr.Close()
		if a := byName(got)["a"]; a.Source != "" || string(a.Data) != "hello\n" {
			t.Errorf("/a: source %q, data %q", a.Source, a.Data)
		}
		if err := write(got); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("embedded, over the bound", func(t *testing.T) {
		tr, got := changes(t)
		err := tr.Embed(got, 1005, "fakeRootCommands")
		if err == nil || !strings.Contains(err.Error(), "fakeRootCommands made /b (1000 bytes), past the 1005 bytes") {
			t.Errorf("got %v, want an error naming /b and the bound", err)
		}
	})
}
