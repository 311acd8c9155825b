package inspect

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/nixlayer/nixlayer/image/base"
)

// Report is what Inspect finds in an image.
type Report struct {
	Source      string          `json:"source"`
	Format      string          `json:"format"`      // docker-archive, oci-layout, oci-archive, stream-script, ...
	Compression string          `json:"compression"` // of the archive file itself
	Ref         string          `json:"ref,omitempty"`
	Digest      string          `json:"configDigest"`
	Layers      []Layer         `json:"layers"`
	Config      json.RawMessage `json:"config"`
	// Images lists every image of an archive that holds several (a
	// mergeImages archive, a multi-image OCI layout), in its order; the
	// rest of the report describes the one picked.
	Images []Summary `json:"images,omitempty"`
	// Index lists the entries of a multi-platform index (buildImageIndex);
	// the rest of the report is the entry for this machine's platform.
	Index []v1.Descriptor `json:"index,omitempty"`
}

// Summary is one image of an archive that holds several.
type Summary struct {
	Ref      string `json:"ref,omitempty"`
	Digest   string `json:"configDigest"`
	Platform string `json:"platform,omitempty"` // os/architecture[/variant]
	Layers   int    `json:"layers"`
	Size     int64  `json:"size"` // of the layer blobs
}

// Layer is one layer of a Report, bottom first.
type Layer struct {
	Digest    string `json:"digest"`
	DiffID    string `json:"diffID"`
	Size      int64  `json:"size"`
	MediaType string `json:"mediaType"`
	// StorePaths are the Nix store paths in the layer, as
	// /nix/store/<hash>-<name>.
	StorePaths []string `json:"storePaths"`
	// StorePathsFrom says where StorePaths came from: "history" (the
	// comment nixlayer writes) or "tar" (the top-level nix/store entries of
	// the layer, for images nixlayer did not make).
	StorePathsFrom string `json:"storePathsFrom"`
	Comment        string `json:"comment,omitempty"`
}

// historyPrefix starts the history comment nixlayer writes for a layer of
// store paths: "store paths: /nix/store/a /nix/store/b[; ...]".
const historyPrefix = "store paths: "

// Inspect opens the image at path (a docker-archive, an oci-archive, or an
// OCI layout directory; see base.Open) and describes it. The layers whose
// store paths the history does not give are read with base's Walk, so the
// image's limits (bytes and entries of all layers together, bytes of
// names) and the digest checks apply as for a build. An archive that holds
// several images is described by the one opts pick (the first by default),
// and Images lists them all.
func Inspect(path string, opts ...base.Option) (*Report, error) {
	img, err := base.Open(path, opts...)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	r, err := report(path, img.V1(), img, len(img.Layers()))
	if err != nil {
		return nil, err
	}
	r.Format, r.Compression, r.Ref = string(img.Format()), img.Compression(), img.Ref()
	if raw := img.RawIndex(); raw != nil {
		im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("inspecting image %q: reading its index: %w", path, err)
		}
		r.Index = im.Manifests
	}
	if img.Count() > 1 {
		if r.Images, err = summaries(path, img); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// report describes the image v read from src. Its layers without store
// paths in their history are walked in walk, whose first n layers are v's
// first n (walk may be nil when n is 0).
func report(src string, v v1.Image, walk *base.Image, n int) (*Report, error) {
	raw, err := v.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("inspecting image %q: %w", src, err)
	}
	cfg, err := v.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("inspecting image %q: %w", src, err)
	}
	digest, err := v.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("inspecting image %q: hashing its config: %w", src, err)
	}
	ls, err := v.Layers()
	if err != nil {
		return nil, fmt.Errorf("inspecting image %q: %w", src, err)
	}
	r := &Report{Source: src, Digest: digest.String(), Config: json.RawMessage(raw)}
	history := layerHistory(cfg.History)
	fromTar := make([]map[string]bool, n) // per layer, nil when the history says
	for i, l := range ls {
		var h v1.History
		if i < len(history) {
			h = history[i]
		}
		layer, err := describe(l, h)
		if err != nil {
			return nil, fmt.Errorf("inspecting layer %d of image %q: %w", i+1, src, err)
		}
		r.Layers = append(r.Layers, layer)
		if layer.StorePathsFrom == "tar" && i < n {
			fromTar[i] = map[string]bool{}
		}
	}
	if err := storePathsFromWalk(walk, fromTar); err != nil {
		return nil, fmt.Errorf("inspecting image %q: %w", src, err)
	}
	for i, m := range fromTar {
		if m != nil {
			r.Layers[i].StorePaths = sortedKeys(m)
		}
	}
	return r, nil
}

// summaries describes in brief each image of the archive img was opened
// from, selected from the open archive (not opened again for each).
func summaries(path string, img *base.Image) ([]Summary, error) {
	var out []Summary
	for i := 0; i < img.Count(); i++ {
		sel, err := img.Select(i)
		if err != nil {
			return nil, err
		}
		s, err := summary(sel)
		if err != nil {
			return nil, fmt.Errorf("inspecting image %d of %q: %w", i+1, path, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func summary(img *base.Image) (Summary, error) {
	digest, err := img.V1().ConfigName()
	if err != nil {
		return Summary{}, err
	}
	cfg := img.ConfigFile()
	s := Summary{Ref: img.Ref(), Digest: digest.String(), Layers: len(img.Layers())}
	if cfg.OS != "" || cfg.Architecture != "" {
		s.Platform = cfg.OS + "/" + cfg.Architecture
		if cfg.Variant != "" {
			s.Platform += "/" + cfg.Variant
		}
	}
	for _, l := range img.Layers() {
		n, err := l.Size()
		if err != nil {
			return Summary{}, err
		}
		s.Size += n
	}
	return s, nil
}

// storePathsFromWalk fills sets[i], for each layer i with a set, with the
// store paths of the layer's entries, reading the layers once with Walk.
func storePathsFromWalk(img *base.Image, sets []map[string]bool) error {
	need := false
	for _, m := range sets {
		need = need || m != nil
	}
	if !need || img == nil {
		return nil
	}
	return img.Walk(func(layer int, hdr *tar.Header, _ io.Reader) error {
		if layer < len(sets) && sets[layer] != nil {
			if p, ok := storePathOf(hdr.Name); ok {
				sets[layer][p] = true
			}
		}
		return nil
	})
}

// storePathOf returns "/nix/store/<name>" for an entry at or below
// nix/store/<name>.
func storePathOf(name string) (string, bool) {
	name = strings.TrimPrefix(strings.TrimPrefix(name, "./"), "/")
	rest, ok := strings.CutPrefix(name, "nix/store/")
	if !ok {
		return "", false
	}
	top, _, _ := strings.Cut(rest, "/")
	if top == "" || strings.HasPrefix(top, ".wh.") {
		return "", false
	}
	return "/nix/store/" + top, true
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// layerHistory returns the history entries that have a layer, in order.
func layerHistory(hs []v1.History) []v1.History {
	var out []v1.History
	for _, h := range hs {
		if !h.EmptyLayer {
			out = append(out, h)
		}
	}
	return out
}

func describe(l v1.Layer, h v1.History) (Layer, error) {
	var out Layer
	d, err := l.Digest()
	if err != nil {
		return out, err
	}
	diffID, err := l.DiffID()
	if err != nil {
		return out, err
	}
	size, err := l.Size()
	if err != nil {
		return out, err
	}
	mt, err := l.MediaType()
	if err != nil {
		return out, err
	}
	out = Layer{Digest: d.String(), DiffID: diffID.String(), Size: size, MediaType: string(mt), Comment: h.Comment}
	if paths, ok := StorePathsFromComment(h); ok {
		out.StorePaths, out.StorePathsFrom = paths, "history"
		return out, nil
	}
	out.StorePathsFrom = "tar" // filled by storePathsFromWalk
	return out, nil
}

// StorePathsFromComment reads the store paths from the history entry of a
// layer nixlayer made. ok is false when h is not such an entry; a nixlayer
// layer without store paths (the root contents, the Nix database) gives
// no paths and ok true.
func StorePathsFromComment(h v1.History) (paths []string, ok bool) {
	if h.CreatedBy != "nixlayer" {
		return nil, false
	}
	c, found := strings.CutPrefix(h.Comment, historyPrefix)
	if !found {
		return []string{}, true
	}
	c, _, _ = strings.Cut(c, ";")
	return strings.Fields(c), true
}

// StorePathsInTar lists the store paths in a layer's tar stream: the
// distinct names directly below nix/store, as /nix/store/<name>, sorted.
// It applies no limits: for an image's layers, Inspect reads them through
// base's Walk instead.
func StorePathsInTar(r io.Reader) ([]string, error) {
	seen := map[string]bool{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading layer tar: %w", err)
		}
		if p, ok := storePathOf(hdr.Name); ok {
			seen[p] = true
		}
	}
	return sortedKeys(seen), nil
}
