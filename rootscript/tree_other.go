//go:build !linux

package rootscript

import (
	"context"
	"io"

	"github.com/nixlayer/nixlayer/layers"
)

// Tree is a root script's tree; off Linux every method fails with
// ErrUnsupported (Nix builds Linux images on Linux).
type Tree struct{}

// Init does nothing off Linux.
func Init() {}

// New fails with ErrUnsupported.
func New(string) (*Tree, error) { return nil, ErrUnsupported }

// Dir is empty.
func (t *Tree) Dir() string { return "" }

// Close does nothing.
func (t *Tree) Close() error { return nil }

// Add fails with ErrUnsupported.
func (t *Tree) Add([]layers.Entry) error { return ErrUnsupported }

// Extract fails with ErrUnsupported.
func (t *Tree) Extract(io.Reader) error { return ErrUnsupported }

// Snapshot fails with ErrUnsupported.
func (t *Tree) Snapshot() error { return ErrUnsupported }

// Run fails with ErrUnsupported.
func (t *Tree) Run(context.Context, Options) error { return ErrUnsupported }

// Changes fails with ErrUnsupported.
func (t *Tree) Changes() ([]layers.Entry, error) { return nil, ErrUnsupported }

// ReadFile fails with ErrUnsupported.
func (t *Tree) ReadFile(string, int64) ([]byte, error) { return nil, ErrUnsupported }

// Embed fails with ErrUnsupported.
func (t *Tree) Embed([]layers.Entry, int64, string) error { return ErrUnsupported }
