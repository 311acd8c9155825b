package push

import (
	"context"

	"github.com/nixlayer/nixlayer/provenance"
	"github.com/nixlayer/nixlayer/registry"
)

// Provenance returns the provenance statements (package provenance) of
// the images Push put from src: the image's, or each of an index's
// images'; their subjects are the pushed image manifests, so Sign attests
// each to its image. An image without one gives none.
func Provenance(ctx context.Context, src string, pushed *Pushed, opts ...registry.Option) ([][]byte, error) {
	set, err := resolvePushed(ctx, pushed, "attaching the provenance", opts)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, img := range set.images {
		st, err := provenance.Of(src, img.bopts...)
		if provenance.IsMissing(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st.JSON)
	}
	return out, nil
}
