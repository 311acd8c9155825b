package base

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"

	"github.com/nixlayer/nixlayer/internal/bufpipe"
)

// A layer's blob leaves nixlayer (a push, a loader's archive, a merged or
// indexed archive) as it is, byte for byte; diffIDReader checks on the
// way that it is the layer the config names: the bytes that pass are
// copied to a goroutine that decompresses and hashes them, and the blob's
// end is an error unless their tar stream has the config's diffID. The
// blob is read once; the decompression runs beside the reader's consumer,
// within MaxBytes.

// sideChunks and sideChunkSize size the pipe to the decompressing
// goroutine: the consumer runs ahead of it by at most 1 MiB.
const (
	sideChunks    = 4
	sideChunkSize = 256 << 10
)

// errConsumerClosed stops the goroutine when the blob is closed early.
var errConsumerClosed = errors.New("the blob was closed before its end")

// diffIDReader passes r through and checks its decompressed content
// against the layer's diffID at r's end (see above).
type diffIDReader struct {
	r    io.Reader
	what string
	pw   *bufpipe.Writer
	done chan error // the goroutine's result, sent once
	err  error      // the result, once received
	got  bool
}

// checkDiffID returns r, the layer's blob, checked against its diffID.
func (l *layer) checkDiffID(r io.Reader) *diffIDReader {
	pr, pw := bufpipe.New(sideChunks, sideChunkSize)
	d := &diffIDReader{r: r, what: l.String(), pw: pw, done: make(chan error, 1)}
	go func() {
		err := l.hashTar(pr)
		pr.Close() // a Write the goroutine no longer reads fails
		d.done <- err
	}()
	return d
}

// hashTar decompresses the blob read from r within MaxBytes, checks its
// sha256 against the diffID, and reads the rest of the blob (its padding
// counts toward the blob's digest, not the diffID).
func (l *layer) hashTar(r io.Reader) error {
	c, br, err := peek(r)
	if err != nil {
		return fmt.Errorf("reading %s: %w", l, err)
	}
	d, err := decompress(br, c)
	if err != nil {
		return fmt.Errorf("reading %s: %w", l, err)
	}
	defer d.Close()
	h := sha256.New()
	lim := &limitReader{ctxReader{l.img.opts.ctx, d}, newBudget(l.img.opts.limits.MaxBytes, "its decompressed size")}
	if _, err := io.Copy(h, lim); err != nil {
		return fmt.Errorf("decompressing %s: %w", l, err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return fmt.Errorf("reading %s: %w", l, err)
	}
	if got := (v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}); got != l.diffID {
		return fmt.Errorf("%s: uncompressed content has diffID %s, the config says %s: %w", l, got, l.diffID, ErrDigest)
	}
	return nil
}

// Read reads from r, fails as soon as the decompression on the side fails,
// and at r's end with the diffID check's error.
func (d *diffIDReader) Read(p []byte) (int, error) {
	if d.got && d.err != nil {
		return 0, d.err
	}
	n, err := d.r.Read(p)
	if n > 0 && !d.got {
		if _, werr := d.pw.Write(p[:n]); werr != nil {
			return 0, d.result(fmt.Errorf("checking %s: %w", d.what, werr))
		}
	}
	if err == io.EOF && !d.got {
		d.pw.Close()
		if serr := d.result(nil); serr != nil {
			return 0, serr
		}
	} else if err != nil && !d.got {
		d.pw.CloseWithError(err)
	}
	return n, err
}

// result waits for the goroutine's error, or returns fallback when it
// found none.
func (d *diffIDReader) result(fallback error) error {
	if !d.got {
		d.err, d.got = <-d.done, true
		if d.err == nil {
			d.err = fallback
		}
	}
	return d.err
}

// failed reports whether err is the check's own error (which names the
// layer).
func (d *diffIDReader) failed(err error) bool { return d.got && d.err == err }

// Close stops the goroutine when the blob was not read to its end, and
// waits for it.
func (d *diffIDReader) Close() error {
	if !d.got {
		d.pw.CloseWithError(errConsumerClosed)
		d.result(nil)
	}
	return nil
}

// digestLayers computes the digests of a docker archive's layers (each
// read checks the layer against its diffID), several layers at once; the
// error is the lowest layer's.
func (img *Image) digestLayers() error {
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	errs := make([]error, len(img.layers))
	for i, l := range img.layers {
		g.Go(func() error {
			_, errs[i] = l.Digest()
			return nil
		})
	}
	g.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
