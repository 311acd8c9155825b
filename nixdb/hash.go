package nixdb

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/nix-community/go-nix/pkg/nar"
	"github.com/nix-community/go-nix/pkg/nixhash"

	"github.com/nixlayer/nixlayer/registration"
)

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n uint64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += uint64(n)
	return n, err
}

// HashPath serialises path (a file, directory or symlink on disk) as a NAR,
// the way `nix-store --dump` does, and returns its hash as Nix prints it
// ("sha256:<nix32>") and its size in bytes. Nothing is buffered: the NAR
// goes straight into the hash.
func HashPath(path string) (narHash string, narSize uint64, err error) {
	h := sha256.New()
	cw := &countingWriter{w: h}
	if err := nar.DumpPath(cw, path); err != nil {
		return "", 0, fmt.Errorf("hashing %q as a NAR: %w", path, err)
	}
	nh := nixhash.MustNewHashWithEncoding(nixhash.SHA256, h.Sum(nil), nixhash.NixBase32, true)
	return nh.String(), cw.n, nil
}

// Complete returns a copy of g in which every path has a narHash and a
// narSize. Missing ones are computed from the store path on disk (at its
// own absolute path, as inside a Nix builder), in parallel, at most
// GOMAXPROCS paths at a time. With check, given hashes and sizes are also
// recomputed and a mismatch is an error naming the store path. Computed
// hashes are written as "sha256:<nix32>"; given ones are kept as they are.
func Complete(ctx context.Context, g *registration.Graph, check bool) (*registration.Graph, error) {
	infos := append([]registration.PathInfo(nil), g.Paths()...)
	var todo []int
	for i, p := range infos {
		if check || p.NarHash == "" || p.NarSize == 0 {
			todo = append(todo, i)
		}
	}
	errs := make([]error, len(infos))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(todo)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				errs[i] = completeOne(&infos[i])
			}
		}()
	}
feed:
	for _, i := range todo {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("computing NAR hashes: %w", err)
	}
	// The first error in path order, so the message does not depend on
	// scheduling.
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return registration.NewGraph(g.StoreDir(), infos)
}

// completeOne fills p's hash and size from disk, or checks them when both
// are given.
func completeOne(p *registration.PathInfo) error {
	hash, size, err := HashPath(p.Path)
	if err != nil {
		return fmt.Errorf("completing registration of store path %s: %w", p.Path, err)
	}
	if p.NarHash != "" {
		same, err := sameHash(p.NarHash, hash)
		if err != nil {
			return fmt.Errorf("reading narHash of store path %s: %w", p.Path, err)
		}
		if !same {
			return fmt.Errorf("store path %s: narHash on disk is %s, the registration says %s", p.Path, hash, p.NarHash)
		}
	}
	if p.NarSize != 0 && p.NarSize != size {
		return fmt.Errorf("store path %s: narSize on disk is %d, the registration says %d", p.Path, size, p.NarSize)
	}
	if p.NarHash == "" {
		p.NarHash = hash
	}
	p.NarSize = size
	return nil
}
