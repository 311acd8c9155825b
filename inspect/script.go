package inspect

import (
	"context"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/source"
)

// FormatStreamScript is the Report.Format of a stream script.
const FormatStreamScript = "stream-script"

// File describes the image at path: a stream script from its recipe,
// without producing a layer or reading a store path (which may have been
// garbage-collected since; a base image's layers are read as Inspect reads
// an image's), anything else with Inspect. ctx stops the reading.
func File(ctx context.Context, path string, opts ...base.Option) (*Report, error) {
	kind, err := source.Sniff(path)
	if err != nil {
		return nil, err
	}
	if kind != base.StreamScript {
		return Inspect(path, append(opts, base.WithContext(ctx))...)
	}
	src, err := source.Open(ctx, path, source.WithRecipe())
	if err != nil {
		return nil, err
	}
	defer src.Close()
	n := 0
	if src.Archive != nil {
		n = len(src.Archive.Layers())
	}
	r, err := report(path, src.Image, src.Archive, n)
	if err != nil {
		return nil, err
	}
	r.Format, r.Compression, r.Ref = FormatStreamScript, "uncompressed", src.Ref
	return r, nil
}
