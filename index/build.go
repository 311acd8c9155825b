package index

import (
	"context"
	"fmt"

	"github.com/nixlayer/nixlayer/format"
)

// Request is one index to build.
type Request struct {
	Settings *Settings
	// Out is written atomically: nothing is left there on error.
	Out string
	// TempDir holds what reading a compressed input needs.
	TempDir string
}

// Build reads every image of r, checks that each has a known platform and
// that no two share one, and writes the index to r.Out. Errors name the
// entry (images[i] and its path).
func Build(ctx context.Context, r Request) error {
	set := r.Settings
	entries := make([]*entry, 0, len(set.Images))
	defer func() {
		for _, e := range entries {
			e.close()
		}
	}()
	seen := map[string]int{}
	for i, p := range set.Images {
		e, err := openEntry(ctx, p, r.TempDir)
		if err != nil {
			return fmt.Errorf("nixlayer.buildImageIndex: images[%d] (%s): %w", i, p, err)
		}
		entries = append(entries, e)
		k := e.key()
		if j, dup := seen[k]; dup {
			return fmt.Errorf("nixlayer.buildImageIndex: images[%d] (%s) and images[%d] (%s) are both for %s: give one image per platform", j, set.Images[j], i, p, k)
		}
		seen[k] = i
	}
	ix := format.Index{Tag: set.Ref.TagStr(), Annotations: set.Annotations}
	for _, e := range entries {
		ix.Images = append(ix.Images, e.image())
	}
	return format.Create(r.Out, set.Format, set.MTime, func(w format.Writer) error {
		if err := w.Index(ix); err != nil {
			return fmt.Errorf("nixlayer.buildImageIndex: %w", err)
		}
		return nil
	})
}
