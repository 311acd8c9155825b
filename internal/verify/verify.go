package verify

import (
	"errors"
	"fmt"
	"hash"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ErrMismatch marks content whose digest or size is not the expected one.
var ErrMismatch = errors.New("digest mismatch")

// Reader hashes what it reads from r and, at r's end, fails with an error
// wrapping ErrMismatch unless the bytes had the expected digest and size.
type Reader struct {
	r    io.Reader
	h    hash.Hash
	want v1.Hash
	size int64
	n    int64
	what string
}

// NewReader returns a Reader of r that expects digest want and size bytes
// (size < 0: any size); what names the content in errors.
func NewReader(r io.Reader, want v1.Hash, size int64, what string) (*Reader, error) {
	h, err := v1.Hasher(want.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", what, err)
	}
	return &Reader{r: r, h: h, want: want, size: size, what: what}, nil
}

// Read reads from r. Content longer than expected fails before any byte
// past the expected size is returned, so that a copy bounded by the size
// (a tar entry, say) reports the mismatch and not its own limit.
func (v *Reader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	if v.size >= 0 && v.n+int64(n) > v.size {
		return 0, fmt.Errorf("%s is larger than its %d bytes: %w", v.what, v.size, ErrMismatch)
	}
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		if v.size >= 0 && v.n != v.size {
			return n, fmt.Errorf("%s has %d bytes, not %d: %w", v.what, v.n, v.size, ErrMismatch)
		}
		got := v1.Hash{Algorithm: v.want.Algorithm, Hex: fmt.Sprintf("%x", v.h.Sum(nil))}
		if got != v.want {
			return n, fmt.Errorf("%s has digest %s, not %s: %w", v.what, got, v.want, ErrMismatch)
		}
	}
	return n, err
}
