package index

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/format"
)

// indexJSON, descJSON and platformJSON are an OCI image index with fixed
// fields, so that its bytes do not depend on a library's version.
type indexJSON struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     types.MediaType `json:"mediaType"`
	Manifests     []descJSON      `json:"manifests"`
}

type descJSON struct {
	MediaType types.MediaType `json:"mediaType"`
	Digest    string          `json:"digest"`
	Size      int64           `json:"size"`
	Platform  *platformJSON   `json:"platform,omitempty"`
}

type platformJSON struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	OSVersion    string `json:"os.version,omitempty"`
	Variant      string `json:"variant,omitempty"`
}

// Request is one index to build.
type Request struct {
	Settings *Settings
	// Out is written atomically: nothing is left there on error.
	Out string
	// TempDir holds what reading a compressed input needs.
	TempDir string
}

// Build reads every image of r, checks that each has a known platform and
// that no two share one, and writes the index to r.Out. Errors name the
// entry (images[i] and its path).
func Build(ctx context.Context, r Request) error {
	set := r.Settings
	entries := make([]*entry, 0, len(set.Images))
	defer func() {
		for _, e := range entries {
			e.close()
		}
	}()
	seen := map[string]int{}
	for i, p := range set.Images {
		e, err := openEntry(ctx, p, r.TempDir)
		if err != nil {
			return fmt.Errorf("nixlayer.buildImageIndex: images[%d] (%s): %w", i, p, err)
		}
		entries = append(entries, e)
		if j, dup := seen[e.key()]; dup {
			return fmt.Errorf("nixlayer.buildImageIndex: images[%d] (%s) and images[%d] (%s) are both for %s: give one image per platform", j, set.Images[j], i, p, e.key())
		}
		seen[e.key()] = i
	}
	return format.Create(r.Out, set.Format, set.MTime, func(w format.Writer) error {
		idx := indexJSON{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []descJSON{}}
		for i, e := range entries {
			d, err := e.write(w)
			if err != nil {
				return fmt.Errorf("nixlayer.buildImageIndex: writing images[%d] (%s): %w", i, e.src, err)
			}
			idx.Manifests = append(idx.Manifests, d)
		}
		raw, err := json.Marshal(idx)
		if err != nil {
			return err
		}
		return w.Index(format.Index{Manifest: raw, Tag: set.Ref.TagStr()})
	})
}

func blobDesc(mt types.MediaType, data []byte) (v1.Descriptor, error) {
	h, n, err := v1.SHA256(bytes.NewReader(data))
	return v1.Descriptor{MediaType: mt, Digest: h, Size: n}, err
}

func bytesOpener(data []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
}
