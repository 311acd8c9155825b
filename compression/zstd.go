package compression

import (
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// A zstd layer is written as a run of independent frames, one for every
// zstdFrameSize bytes of the tar (the last one shorter). A zstd stream is
// one or more frames (RFC 8878, section 3.1) and every decoder reads them
// as one stream; pzstd and containers' zstd:chunked write such streams too.
//
// Independent frames let the frames of one layer be compressed on every
// core at once, and keep the blob a function of the tar alone: frames start
// every zstdFrameSize bytes, never where a scheduler happened to cut the
// work, so GOMAXPROCS and the machine do not change a byte. Each frame is
// encoded with EncodeAll, which is also about a third cheaper in CPU than
// klauspost's streaming encoder at the same level.
//
// The cost is the matches a frame cannot make into the previous one: blobs
// about 1.5% larger than one stream's. Larger frames gain little ratio
// (0.5% at 16 MiB) and cost memory: every frame in flight holds its input
// and output, and each encoder a window of the frame's size.
const zstdFrameSize = 4 << 20

// zstdPool is shared by every zstd writer of the process: one encoder, whose
// concurrency bounds the cores that compress, and a fixed number of frame
// buffers, which bounds the memory that all layers written at once hold:
// twice as many frames as cores, so that every core can compress a frame
// while as many more are filled.
type zstdPool struct {
	enc   *zstd.Encoder
	slots chan *zstdFrame
}

// zstdFrame is one frame's buffers: the tar bytes and their compression.
type zstdFrame struct {
	in, out []byte
	done    chan struct{}
}

var sharedZstdPool = sync.OnceValues(func() (*zstdPool, error) {
	procs := runtime.GOMAXPROCS(0)
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstdLevel), zstd.WithEncoderConcurrency(procs),
		zstd.WithWindowSize(zstdFrameSize), zstd.WithLowerEncoderMem(true), zstd.WithZeroFrames(true))
	if err != nil {
		return nil, fmt.Errorf("creating the zstd encoder: %w", err)
	}
	return newZstdPool(enc, 2*procs), nil
})

func newZstdPool(enc *zstd.Encoder, slots int) *zstdPool {
	p := &zstdPool{enc: enc, slots: make(chan *zstdFrame, slots)}
	for range slots {
		p.slots <- &zstdFrame{}
	}
	return p
}

// zstdWriter cuts what is written to it into frames, compresses each one in
// its own goroutine, and writes the frames to w in order.
type zstdWriter struct {
	w       io.Writer
	pool    *zstdPool
	cur     *zstdFrame   // being filled
	pending []*zstdFrame // compressing or compressed, not yet written
	frames  int          // frames started
	err     error        // first error writing to w
	closed  bool
}

func newZstdWriter(w io.Writer) (*zstdWriter, error) {
	pool, err := sharedZstdPool()
	if err != nil {
		return nil, err
	}
	return &zstdWriter{w: w, pool: pool}, nil
}

func (z *zstdWriter) Write(p []byte) (int, error) {
	if z.closed {
		return 0, fmt.Errorf("zstd writer: write after close")
	}
	n := 0
	for len(p) > 0 {
		if z.err != nil {
			return n, z.err
		}
		if z.cur == nil {
			z.cur = z.take()
		}
		k := min(len(p), zstdFrameSize-len(z.cur.in))
		z.cur.in = append(z.cur.in, p[:k]...)
		p, n = p[k:], n+k
		if len(z.cur.in) == zstdFrameSize {
			z.start()
		}
	}
	return n, z.err
}

// take returns a free frame. When the pool has none, the writer writes out
// its own oldest frame to free one, so a writer never waits on others while
// it holds frames; only a writer with none pending blocks on the pool.
func (z *zstdWriter) take() *zstdFrame {
	var f *zstdFrame
	for f == nil {
		select {
		case f = <-z.pool.slots:
		default:
			if len(z.pending) == 0 {
				f = <-z.pool.slots
			} else {
				z.flushOldest()
			}
		}
	}
	if f.in == nil {
		// Both at their largest from the start: appending never copies.
		f.in = make([]byte, 0, zstdFrameSize)
		f.out = make([]byte, 0, z.pool.enc.MaxEncodedSize(zstdFrameSize))
	}
	return f
}

// start compresses the frame being filled in the background.
func (z *zstdWriter) start() {
	f := z.cur
	z.cur = nil
	z.frames++
	f.done = make(chan struct{})
	go func() {
		f.out = z.pool.enc.EncodeAll(f.in, f.out[:0])
		close(f.done)
	}()
	z.pending = append(z.pending, f)
}

// flushOldest waits for the oldest pending frame, writes it out unless an
// earlier write failed, and gives its buffers back to the pool.
func (z *zstdWriter) flushOldest() {
	f := z.pending[0]
	z.pending = z.pending[1:]
	<-f.done
	if z.err == nil {
		if _, err := z.w.Write(f.out); err != nil {
			z.err = err
		}
	}
	f.in = f.in[:0]
	z.pool.slots <- f
}

// Close compresses what is left and writes every frame out. An empty stream
// still gets one empty frame. Close always gives the writer's buffers back
// to the pool, also after an error, and may be called more than once.
func (z *zstdWriter) Close() error {
	if z.closed {
		return z.err
	}
	z.closed = true
	if z.cur == nil && z.frames == 0 {
		z.cur = z.take()
	}
	if z.cur != nil {
		z.start()
	}
	for len(z.pending) > 0 {
		z.flushOldest()
	}
	return z.err
}
