package layers

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWriteCancel cancels the write of a large layer (one big file and many
// small ones) after it started and checks that it stops within a second
// with context.Canceled, inside the layer rather than at its end.
func TestWriteCancel(t *testing.T) {
	dir := t.TempDir()
	big, err := os.Create(filepath.Join(dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: 4 GiB to read and compress, no disk space used.
	if err := big.Truncate(4 << 30); err != nil {
		t.Fatal(err)
	}
	big.Close()
	for _, c := range allCompressions {
		t.Run(string(c), func(t *testing.T) {
			entries, err := Tree(dir, "nix/store/00000000000000000000000000000000-big")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			started := make(chan struct{})
			gen := func(emit func(Entry) error) error {
				close(started)
				return Entries(entries)(emit)
			}
			done := make(chan error, 1)
			go func() {
				_, err := WriteFunc(ctx, io.Discard, gen, Options{MTime: time.Unix(1, 0), Compression: c})
				done <- err
			}()
			<-started
			time.Sleep(100 * time.Millisecond)
			cancel()
			at := time.Now()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("WriteFunc returned %v, want context.Canceled", err)
				}
				if d := time.Since(at); d > time.Second {
					t.Errorf("WriteFunc took %v after the cancel, want under a second", d)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("WriteFunc still running 10 s after the cancel")
			}
		})
	}

	// Between entries too: a generator of many entries stops at the first
	// emit after the cancel.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = WriteFunc(ctx, io.Discard, Entries([]Entry{Dir("a", 0o755)}), Options{MTime: time.Unix(1, 0), Compression: None})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("WriteFunc with a done context returned %v, want context.Canceled", err)
	}
}
