package image

import (
	"github.com/nixlayer/nixlayer/layers"
)

// customisation returns the entries the spec declares for the image root
// (users, files, symlinks, directories, extraCommands output).
func (r *Request) customisation() ([]layers.Entry, error) { return nil, nil }

// applyRules applies the spec's permission rules to a layer's entries.
func (l *Layer) applyRules(entries []layers.Entry) error { return nil }
