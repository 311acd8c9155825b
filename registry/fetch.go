package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fetched is an image manifest and its blobs, downloaded and verified into
// a temporary directory.
type fetched struct {
	ref         name.Digest // the image manifest, by digest
	manifest    *v1.Manifest
	rawManifest []byte
	mediaType   types.MediaType
	digest      v1.Hash // of rawManifest
	dir         string  // blobs as dir/<hex>
}

func (f *fetched) blobPath(h v1.Hash) string { return filepath.Join(f.dir, h.Hex) }

// close removes the downloaded blobs.
func (f *fetched) close() { os.RemoveAll(f.dir) }

// resolve fetches the manifest ref names and, when it is an index, the
// manifest of the image for the wanted platform.
func resolve(ctx context.Context, ref name.Reference, o *options) (*remote.Descriptor, error) {
	ropts, err := o.remoteOptions(remote.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	desc, err := getManifest(ctx, ref, o, ropts)
	if err != nil {
		return nil, fmt.Errorf("fetching manifest of %q: %w", ref.String(), err)
	}
	if !desc.MediaType.IsIndex() {
		return desc, nil
	}
	idx, err := v1.ParseIndexManifest(strings.NewReader(string(desc.Manifest)))
	if err != nil {
		return nil, fmt.Errorf("reading index %q: %w", ref.String(), err)
	}
	child, err := choosePlatform(idx, o.platform)
	if err != nil {
		return nil, fmt.Errorf("choosing the image of index %q: %w", ref.String(), err)
	}
	childRef := ref.Context().Digest(child.Digest.String())
	desc, err = getManifest(ctx, childRef, o, ropts)
	if err != nil {
		return nil, fmt.Errorf("fetching manifest %q for %s: %w", childRef.String(), platformString(o.platform), err)
	}
	return desc, nil
}

// choosePlatform returns the image of idx for want; an empty variant in
// want matches any. The error lists the platforms idx has.
func choosePlatform(idx *v1.IndexManifest, want v1.Platform) (v1.Descriptor, error) {
	var have []string
	seen := map[string]bool{}
	for _, m := range idx.Manifests {
		if m.Platform == nil || !m.MediaType.IsImage() {
			continue
		}
		p := *m.Platform
		if p.OS == want.OS && p.Architecture == want.Architecture && (want.Variant == "" || p.Variant == want.Variant) {
			return m, nil
		}
		if s := platformString(p); p.OS != "unknown" && !seen[s] {
			seen[s] = true
			have = append(have, s)
		}
	}
	sort.Strings(have)
	if len(have) > maxPlatformsListed {
		have = append(have[:maxPlatformsListed], fmt.Sprintf("and %d more", len(have)-maxPlatformsListed))
	}
	for i, s := range have {
		if len(s) > 100 {
			have[i] = s[:100] + "…"
		}
	}
	return v1.Descriptor{}, fmt.Errorf("no image for platform %s; the index has %s: set os, arch and variant (--os, --arch, --variant) to one of them",
		platformString(want), strings.Join(have, ", "))
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// fetch downloads the image ref names (choosing from an index by platform)
// and every blob of it into a new temporary directory, verifying each
// blob's digest and size.
func fetch(ctx context.Context, ref name.Reference, o *options) (_ *fetched, err error) {
	desc, err := resolve(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	if !desc.MediaType.IsImage() {
		return nil, fmt.Errorf("reading %q: media type %q is not an image manifest (schema 1 and artifacts are not supported)", ref.String(), desc.MediaType)
	}
	m, err := v1.ParseManifest(strings.NewReader(string(desc.Manifest)))
	if err != nil {
		return nil, fmt.Errorf("reading manifest of %q: %w", ref.String(), err)
	}
	f := &fetched{
		ref:         ref.Context().Digest(desc.Digest.String()),
		manifest:    m,
		rawManifest: desc.Manifest,
		mediaType:   desc.MediaType,
		digest:      desc.Digest,
	}
	if f.dir, err = os.MkdirTemp(o.tempDir, "nixlayer-pull-"); err != nil {
		return nil, fmt.Errorf("creating a directory for blobs: %w", err)
	}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	if m.Config.Size > MaxConfigBytes || m.Config.Size < 0 {
		return nil, fmt.Errorf("reading %q: config %s is %d bytes, over the %d byte limit for image configs", f.ref.String(), m.Config.Digest, m.Config.Size, MaxConfigBytes)
	}
	blobs := append([]v1.Descriptor{m.Config}, m.Layers...)
	if err := forEach(ctx, o.jobs, uniqueBlobs(blobs), func(ctx context.Context, d v1.Descriptor) error {
		return f.download(ctx, d, o)
	}); err != nil {
		return nil, err
	}
	var cfg struct {
		RootFS struct {
			DiffIDs []v1.Hash `json:"diff_ids"`
		} `json:"rootfs"`
	}
	data, err := os.ReadFile(f.blobPath(m.Config.Digest))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("reading config %s of %q: %w", m.Config.Digest, f.ref.String(), err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("reading %q: the config lists %d layers (rootfs.diff_ids), the manifest %d", f.ref.String(), len(cfg.RootFS.DiffIDs), len(m.Layers))
	}
	return f, nil
}

func uniqueBlobs(ds []v1.Descriptor) []v1.Descriptor {
	seen := map[v1.Hash]bool{}
	var out []v1.Descriptor
	for _, d := range ds {
		if !seen[d.Digest] {
			seen[d.Digest] = true
			out = append(out, d)
		}
	}
	return out
}

// download fetches one blob, trying again after a transient failure.
func (f *fetched) download(ctx context.Context, d v1.Descriptor, o *options) error {
	if d.Digest.Algorithm != "sha256" {
		return fmt.Errorf("blob %s of %q: only sha256 digests are supported", d.Digest, f.ref.String())
	}
	err := tryBody(ctx, o, func() error {
		if err := f.downloadOnce(ctx, d, o); err != nil {
			return fmt.Errorf("downloading blob %s of %q: %w", d.Digest, f.ref.String(), err)
		}
		return nil
	})
	if err == nil && o.progress != nil {
		fmt.Fprintf(o.progress, "fetched %s (%s)\n", d.Digest, humanSize(d.Size))
	}
	return err
}

// tryBody runs fn until it succeeds, fails for good, or has been tried
// o.attempts times: a failure reading a body (bodyFailure) is tried again
// after a pause that doubles each time.
func tryBody(ctx context.Context, o *options, fn func() error) error {
	pause := o.backoff
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !bodyFailure(err) || attempt >= o.attempts {
			return err
		}
		if o.progress != nil {
			fmt.Fprintf(o.progress, "retrying in %s: %v\n", pause, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause *= 2
	}
}

// getManifest is remote.Get, tried again when the manifest's body fails
// (see tryBody).
func getManifest(ctx context.Context, ref name.Reference, o *options, ropts []remote.Option) (*remote.Descriptor, error) {
	var desc *remote.Descriptor
	err := tryBody(ctx, o, func() (err error) {
		desc, err = remote.Get(ref, ropts...)
		return err
	})
	return desc, err
}

func (f *fetched) downloadOnce(ctx context.Context, d v1.Descriptor, o *options) (err error) {
	ropts, err := o.remoteOptions(remote.WithContext(ctx))
	if err != nil {
		return err
	}
	l, err := remote.Layer(f.ref.Context().Digest(d.Digest.String()), ropts...)
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(f.dir, ".part-")
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	// Never more than the descriptor's size is read (an endless body
	// stops there), and the digest is checked here: go-containerregistry
	// checks it only at the end of rc, which a limited read never meets.
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(rc, d.Size+1))
	if err != nil {
		return err
	}
	if n > d.Size {
		return fmt.Errorf("the registry sends more than the %d bytes the manifest says", d.Size)
	}
	if n != d.Size {
		return fmt.Errorf("content is %d bytes, the manifest says %d", n, d.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != d.Digest.Hex {
		return fmt.Errorf("content has digest sha256:%s: %w", got, errDigest)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), f.blobPath(d.Digest))
}

// errDigest marks a blob whose content differs from its digest.
var errDigest = errors.New("digest mismatch")

// forEach runs fn on every item, at most jobs at once, and returns the
// first error; the others are cancelled then.
func forEach[T any](ctx context.Context, jobs int, items []T, fn func(context.Context, T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, jobs)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, it := range items {
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func(it T) {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, it); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}(it)
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
