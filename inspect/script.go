package inspect

import (
	"context"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/stream"
)

// FormatStreamScript is the Report.Format of a stream script.
const FormatStreamScript = "stream-script"

// File describes the image at path: a stream script from its recipe
// (Script), anything else with Inspect. ctx stops the reading.
func File(ctx context.Context, path string, opts ...base.Option) (*Report, error) {
	if stream.IsScript(path) {
		return Script(ctx, path)
	}
	return Inspect(path, append(opts, base.WithContext(ctx))...)
}

// Script describes the stream script at path (streamLayeredImage's output)
// from its recipe: layers, sizes, digests, store paths and config as the
// build computed them, without producing a layer or reading a store path
// (which may have been garbage-collected since). A base image's layers are
// read as Inspect reads an image's.
func Script(ctx context.Context, path string) (*Report, error) {
	s, err := stream.ReadScript(path)
	if err != nil {
		return nil, err
	}
	v, from, closeFn, err := s.Recipe(ctx)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	n := 0
	if from != nil {
		n = len(from.Layers())
	}
	r, err := report(path, v, from, n)
	if err != nil {
		return nil, err
	}
	r.Format, r.Compression, r.Ref = FormatStreamScript, "uncompressed", s.Settings.Ref.String()
	return r, nil
}
