package provenance

import (
	"errors"
	"fmt"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/source"
	"github.com/nixlayer/nixlayer/stream"
)

// Of returns the provenance statement the image at path carries: a
// docker-archive, an OCI layout or oci-archive (compressed too), read with
// image/base's hardened reader, or a nixlayer stream script, whose recipe
// holds it. opts choose the image of an archive or index (base.WithManifest,
// say); a stream script ignores them. An image without one is an error
// wrapping ErrNoProvenance; a statement over MaxSize bytes, or one that is
// not a valid in-toto statement, is an error naming the image.
func Of(path string, opts ...base.Option) (*Statement, error) {
	kind, err := source.Sniff(path)
	if err != nil {
		return nil, fmt.Errorf("reading the provenance of %s: %w", path, err)
	}
	var data []byte
	switch kind {
	case base.StreamScript:
		data, err = fromScript(path)
	case base.Executable:
		err = fmt.Errorf("reading the provenance of %s: an executable that is not a nixlayer stream script: %w", path, ErrNoProvenance)
	default:
		data, err = fromArchive(path, opts)
	}
	if err != nil {
		return nil, err
	}
	return Parse(data, "the provenance of "+path)
}

// fromScript reads the statement of the stream script at path.
func fromScript(path string) ([]byte, error) {
	s, err := stream.ReadScript(path)
	if err != nil {
		return nil, fmt.Errorf("reading the provenance of %s: %w", path, err)
	}
	if s.Provenance == nil {
		return nil, fmt.Errorf("stream script %s has no provenance statement: %w (built with provenance = false, or by an older nixlayer?)", path, ErrNoProvenance)
	}
	if len(s.Provenance) > MaxSize {
		return nil, fmt.Errorf("reading the provenance of stream script %s: %d bytes, over the %d byte limit: %w", path, len(s.Provenance), MaxSize, base.ErrLimit)
	}
	return s.Provenance, nil
}

// fromArchive reads the statement beside the image of the archive or
// layout at path.
func fromArchive(path string, opts []base.Option) ([]byte, error) {
	img, err := base.Open(path, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading the provenance of %s: %w", path, err)
	}
	defer img.Close()
	data, ok, err := img.Provenance(MaxSize)
	if err != nil {
		return nil, fmt.Errorf("reading the provenance of %s: %w", path, err)
	}
	if !ok {
		return nil, fmt.Errorf("image %s has no provenance statement: %w (built with provenance = false, or not by nixlayer?)", path, ErrNoProvenance)
	}
	return data, nil
}

// IsMissing reports whether err says an image has no statement.
func IsMissing(err error) bool { return errors.Is(err, ErrNoProvenance) }
