package recipe

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"github.com/nixlayer/nixlayer/layers"
)

// EachLayer runs fn for every layer of plan, at most GOMAXPROCS at once,
// heaviest layer first (by the bytes of its files), so that the largest
// layer does not start last and leave the other cores idle at the end. It
// returns the first error in plan order; after an error no new layer starts.
func EachLayer(ctx context.Context, plan []Layer, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), len(plan))
	order := make([]int, len(plan))
	for i := range plan {
		order[i] = i
	}
	if len(plan) > workers {
		// With a worker for every layer, the order does not matter.
		weight := make([]int64, len(plan))
		for i := range plan {
			weight[i] = layerWeight(&plan[i])
		}
		sort.SliceStable(order, func(a, b int) bool { return weight[order[a]] > weight[order[b]] })
	}
	next := make(chan int, len(order))
	for _, i := range order {
		next <- i
	}
	close(next)
	errs := make([]error, len(plan))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if errs[i] = ctx.Err(); errs[i] != nil {
					continue
				}
				if errs[i] = fn(i); errs[i] != nil {
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || first == context.Canceled) {
			first = err
		}
	}
	return first
}

// layerWeight estimates the work of writing l: the size of its store paths
// (from the plan) and of its extra files.
func layerWeight(l *Layer) int64 {
	n := l.Size
	for _, e := range l.Extra {
		n += e.Size
	}
	return n
}

// WriteOptions says how planned layers are written to files: the layer
// options and whether the blobs get OCI media types (else Docker's).
type WriteOptions struct {
	layers.Options
	OCI bool
}

// WriteLayers writes each planned layer to a file in dir, several at once
// (bounded by GOMAXPROCS), and returns them as blobs in plan order.
// A cancelled ctx stops the layers being written within a file read.
func WriteLayers(ctx context.Context, plan []Layer, opts WriteOptions, dir string) ([]*Blob, error) {
	blobs := make([]*Blob, len(plan))
	c := opts.Compression
	err := EachLayer(ctx, plan, func(i int) error {
		if blobs[i] = plan[i].CachedBlob(opts.OCI); blobs[i] != nil {
			return nil
		}
		path := filepath.Join(dir, fmt.Sprintf("layer-%03d", i))
		d, err := plan[i].WriteFile(ctx, path, opts.Options)
		if err != nil {
			return fmt.Errorf("writing layer %d (%s): %w", i+1, plan[i].Title(), err)
		}
		blobs[i] = FileBlob(path, d, c, c.MediaType(opts.OCI))
		return nil
	})
	return blobs, err
}

// WriteFile writes the layer's blob, as opts says, to a new file at path.
func (l *Layer) WriteFile(ctx context.Context, path string, opts layers.Options) (layers.Descriptor, error) {
	f, err := os.Create(path)
	if err != nil {
		return layers.Descriptor{}, err
	}
	d, err := l.Write(ctx, f, opts)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return d, err
}
