package bufpipe

import (
	"io"
	"sync"
)

// New returns the two ends of a pipe whose writer can run ahead of its
// reader by up to chunks buffers of chunkSize bytes.
func New(chunks, chunkSize int) (*Reader, *Writer) {
	s := &shared{
		full:   make(chan []byte, chunks),
		free:   make(chan []byte, chunks),
		closed: make(chan struct{}),
	}
	for range chunks {
		s.free <- make([]byte, 0, chunkSize)
	}
	return &Reader{s: s}, &Writer{s: s}
}

type shared struct {
	full   chan []byte   // filled chunks, in order; closed by the writer
	free   chan []byte   // chunks to fill
	closed chan struct{} // closed by the reader
	wonce  sync.Once
	ronce  sync.Once
	err    error // the writer's CloseWithError, read after full is closed
}

// Writer is the write end of a pipe. It is not safe for concurrent use.
type Writer struct {
	s      *shared
	cur    []byte
	closed bool
}

// Write copies p into the pipe's chunks, waiting for a free chunk when the
// reader is behind. It fails with io.ErrClosedPipe once the reader closed.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, io.ErrClosedPipe
	}
	n := 0
	for len(p) > 0 {
		if w.cur == nil {
			select {
			case w.cur = <-w.s.free:
			case <-w.s.closed:
				return n, io.ErrClosedPipe
			}
		}
		k := copy(w.cur[len(w.cur):cap(w.cur)], p)
		w.cur, p, n = w.cur[:len(w.cur)+k], p[k:], n+k
		if len(w.cur) == cap(w.cur) {
			if err := w.send(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (w *Writer) send() error {
	select {
	case w.s.full <- w.cur:
		w.cur = nil
		return nil
	case <-w.s.closed:
		return io.ErrClosedPipe
	}
}

// Close closes the pipe: the reader gets what was written, then io.EOF.
func (w *Writer) Close() error { return w.CloseWithError(nil) }

// CloseWithError closes the pipe: the reader gets what was written, then
// err (io.EOF when err is nil). Only the first call counts.
func (w *Writer) CloseWithError(err error) error {
	w.s.wonce.Do(func() {
		w.closed = true
		if len(w.cur) > 0 {
			w.send()
		}
		w.s.err = err
		close(w.s.full)
	})
	return nil
}

// Reader is the read end of a pipe. It is not safe for concurrent use.
type Reader struct {
	s    *shared
	cur  []byte // the chunk being read
	rest []byte // its unread part
	done bool
}

// Read reads what the writer wrote, in order.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.rest) == 0 {
		if r.done {
			if r.s.err != nil {
				return 0, r.s.err
			}
			return 0, io.EOF
		}
		if r.cur != nil {
			r.s.free <- r.cur[:0]
			r.cur = nil
		}
		c, ok := <-r.s.full
		if !ok {
			r.done = true
			continue
		}
		r.cur, r.rest = c, c
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}

// Close closes the read end: a blocked or later Write fails with
// io.ErrClosedPipe.
func (r *Reader) Close() error {
	r.s.ronce.Do(func() { close(r.s.closed) })
	return nil
}
