package bufpipe

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"testing"
	"time"
)

// TestOrder writes and reads in pieces of random sizes, smaller and larger
// than a chunk, and checks the reader gets every byte in order.
func TestOrder(t *testing.T) {
	for _, tt := range []struct{ chunks, size int }{{1, 1}, {2, 7}, {4, 4096}, {3, 1 << 20}} {
		rng := rand.New(rand.NewSource(int64(tt.size)))
		data := make([]byte, min(3<<20, 50000*tt.size)+17)
		rng.Read(data)
		r, w := New(tt.chunks, tt.size)
		go func() {
			for off := 0; off < len(data); {
				n := min(rng.Intn(3*tt.size+100)+1, len(data)-off)
				if _, err := w.Write(data[off : off+n]); err != nil {
					w.CloseWithError(err)
					return
				}
				off += n
			}
			w.Close()
		}()
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%d chunks of %d: read %d bytes (%v), want the %d written", tt.chunks, tt.size, len(got), err, len(data))
		}
	}
}

func TestCloseWithError(t *testing.T) {
	r, w := New(2, 4)
	boom := errors.New("store path changed")
	go func() {
		w.Write([]byte("0123456789"))
		w.CloseWithError(boom)
	}()
	got, err := io.ReadAll(r)
	if string(got) != "0123456789" || !errors.Is(err, boom) {
		t.Errorf("read %q, %v; want every byte, then the writer's error", got, err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("Write after Close: %v", err)
	}
}

// TestReaderClose checks that a writer blocked on a full pipe is released
// when the reader gives up.
func TestReaderClose(t *testing.T) {
	r, w := New(1, 4)
	done := make(chan error)
	go func() {
		_, err := w.Write(make([]byte, 100))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	r.Close()
	r.Close()
	select {
	case err := <-done:
		if !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("blocked Write returned %v, want io.ErrClosedPipe", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Write still blocked after the reader closed")
	}
}
