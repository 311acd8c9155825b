package base

import (
	"errors"

	"github.com/nixlayer/nixlayer/internal/verify"
)

// Errors a caller may branch on with errors.Is; the wrapping error names the
// archive, layer and entry.
var (
	// ErrUnsafe marks an entry or reference the safety policy rejects: a
	// name leaving the root, a hard link to a missing entry or a directory,
	// a parent that is not a directory, a symlink loop.
	ErrUnsafe = errors.New("unsafe content")
	// ErrLimit marks an archive that exceeds one of the Limits.
	ErrLimit = errors.New("limit exceeded")
	// ErrDigest marks content whose digest, diffID or size differs from
	// what the manifest or config says.
	ErrDigest = verify.ErrMismatch
	// ErrMissing marks a file or blob that the archive names but lacks.
	ErrMissing = errors.New("missing from archive")
	// ErrFormat marks an archive that is not an image this package reads.
	ErrFormat = errors.New("unrecognised image format")
)
