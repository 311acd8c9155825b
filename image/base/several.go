package base

import (
	"fmt"
	"slices"
)

// An archive may hold several images: a docker-archive's manifest.json and
// an OCI layout's index.json are lists (mergeImages makes such archives).
// Open picks one; Count says how many there are and WithPosition picks each
// in turn.

// WithPosition picks the image at index i (from 0) of the archive's list
// (manifest.json, repositories or index.json), whatever its name; it
// overrides WithName and WithTag.
func WithPosition(i int) Option { return func(o *options) { o.position = i + 1 } }

// Count returns the number of images the archive lists (an OCI index entry
// that is itself a multi-platform index counts once).
func (img *Image) Count() int { return img.count }

// Refs returns every "name:tag" the archive gives the picked image, in the
// archive's order ("" entries left out): a docker-archive entry may have
// several RepoTags; an OCI index entry gives ":tag" when it names a tag
// only.
func (img *Image) Refs() []string { return slices.Clone(img.refs) }

// pickPosition picks the image at the position of the options.
func (img *Image) pickPosition(refs [][]imageRef) (int, error) {
	i := img.opts.position - 1
	if i >= len(refs) {
		return 0, fmt.Errorf("image archive %q holds %d images, not %d: %w", img.src, len(refs), i+1, ErrMissing)
	}
	img.setRefs(refs[i])
	return i, nil
}

// setRefs records the refs of the picked image; the first is Ref.
func (img *Image) setRefs(rs []imageRef) {
	img.refs = nil
	for _, r := range rs {
		if s := r.String(); s != "" && !slices.Contains(img.refs, s) {
			img.refs = append(img.refs, s)
		}
	}
	if len(img.refs) > 0 {
		img.ref = img.refs[0]
	}
}
