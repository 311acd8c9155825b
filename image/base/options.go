package base

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Default limits; see the package documentation and the README's
// "Limits". DefaultMaxBytes and DefaultMaxEntries may be raised with
// $NIXLAYER_MAX_BYTES and $NIXLAYER_MAX_ENTRIES (Limits fields win).
const (
	DefaultMaxBytes     int64 = 16 << 30
	DefaultMaxEntries         = 1 << 20
	DefaultMaxNameBytes int64 = 256 << 20

	maxMetadataBytes = 8 << 20 // one JSON document
	maxNameLen       = 4096    // one entry name or link target
	maxSymlinks      = 40      // symlinks followed in one lookup
	maxLookupSteps   = 4096    // path components one lookup visits, symlink targets included
)

// Environment variables raising the default limits.
const (
	EnvMaxBytes   = "NIXLAYER_MAX_BYTES"
	EnvMaxEntries = "NIXLAYER_MAX_ENTRIES"
)

// Decompressor memory bounds; variables only so that fuzzing can lower them.
var (
	maxZstdWindow uint64 = 128 << 20 // zstd decoder window
	maxXzDict     int64  = 256 << 20 // xz dictionary
)

// Limits bound the resources reading an image may use. A zero field means
// its default.
type Limits struct {
	MaxBytes     int64 // decompressed bytes: archive file, all layers, all entries
	MaxEntries   int   // entries in all layers together, and in the archive
	MaxNameBytes int64 // bytes of names and link targets kept in memory
}

func (l Limits) withDefaults() (Limits, error) {
	if l.MaxBytes <= 0 {
		n, err := envLimit(EnvMaxBytes, DefaultMaxBytes)
		if err != nil {
			return l, err
		}
		l.MaxBytes = n
	}
	if l.MaxEntries <= 0 {
		n, err := envLimit(EnvMaxEntries, DefaultMaxEntries)
		if err != nil {
			return l, err
		}
		l.MaxEntries = int(n)
	}
	if l.MaxNameBytes <= 0 {
		l.MaxNameBytes = DefaultMaxNameBytes
	}
	return l, nil
}

type options struct {
	ctx       context.Context
	name, tag string
	limits    Limits
	tempDir   string
	keep      map[string]bool
	manifest  v1.Hash // WithManifest
	position  int     // 1 + the index of the image to pick (WithPosition); 0: by name and tag
}

// Option changes how Open reads an image.
type Option func(*options)

// WithName picks the image whose repository name is name ("busybox",
// "docker.io/library/busybox") when the archive holds several.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithTag picks the image with this tag when the archive holds several.
func WithTag(tag string) Option { return func(o *options) { o.tag = tag } }

// WithManifest picks the image manifest with digest h from a
// multi-platform index instead of this machine's platform (see
// (*Image).RawIndex).
func WithManifest(h v1.Hash) Option { return func(o *options) { o.manifest = h } }

// WithLimits sets the resource limits; zero fields keep their defaults.
func WithLimits(l Limits) Option { return func(o *options) { o.limits = l } }

// WithTempDir sets where temporary files go (default os.TempDir()).
func WithTempDir(dir string) Option { return func(o *options) { o.tempDir = dir } }

// WithKeep makes Index keep where the regular files at these paths
// ("etc/passwd") come from, so that (*Index).Content and CopyContent return
// their content as the image leaves it (later layers and whiteouts
// applied), reading again only the layer that wrote each.
func WithKeep(paths ...string) Option {
	return func(o *options) {
		if o.keep == nil {
			o.keep = map[string]bool{}
		}
		for _, p := range paths {
			o.keep[p] = true
		}
	}
}

// WithContext makes reading the image (Open, Walk, Index, Flatten,
// Content) stop with ctx's error once ctx is done: each entry and each
// read of a blob checks it.
func WithContext(ctx context.Context) Option { return func(o *options) { o.ctx = ctx } }

// ctxReader fails with its context's error once the context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, fmt.Errorf("reading stopped: %w", err)
	}
	return c.r.Read(p)
}

// envLimit reads a positive integer from the environment variable env;
// def when it is unset.
func envLimit(env string, def int64) (int64, error) {
	v := os.Getenv(env)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > 1<<50 {
		return 0, fmt.Errorf("$%s = %q is not a positive number", env, v)
	}
	return n, nil
}
