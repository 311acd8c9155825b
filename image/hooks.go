package image

import (
	"github.com/nixlayer/nixlayer/customize"
	"github.com/nixlayer/nixlayer/layers"
)

// customisation returns the entries the spec declares for the image root
// (users, files, symlinks, directories, extraCommands output) and the
// permission rules every layer applies.
func (r *Request) customisation() ([]layers.Entry, customize.Rules, error) { return nil, nil, nil }

// applyRules applies the spec's permission rules to a layer's entries.
func (l *Layer) applyRules(entries []layers.Entry) error {
	l.Rules.Apply(entries)
	return nil
}
