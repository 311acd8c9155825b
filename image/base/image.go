package base

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/internal/verify"
	"github.com/nixlayer/nixlayer/wire"
)

// Format is what an image source is: the kind of archive an image was
// read from, or, for package source, an executable that streams one.
type Format string

// The formats Open reads.
const (
	DockerArchive       Format = "docker-archive"        // manifest.json
	DockerArchiveLegacy Format = "docker-archive-legacy" // repositories, <id>/json, <id>/layer.tar
	OCILayout           Format = "oci-layout"            // a directory
	OCIArchive          Format = "oci-archive"           // an OCI layout in a tar
)

// The formats of image sources Open does not read, but package source
// opens and names with this same type: the one enum of input formats.
const (
	// StreamScript is a nixlayer stream script (streamLayeredImage).
	StreamScript Format = "stream-script"
	// Executable is any other program that writes a docker-archive to
	// its standard output.
	Executable Format = "stream"
)

// Image is a foreign image opened by Open. Its layers are the archive's
// blobs, unchanged. Close releases its temporary files.
type Image struct {
	src         string
	format      Format
	compression compression
	ref         string
	refs        []string // every ref the archive gives the picked image
	count       int      // images the archive lists
	store       store
	file        *os.File // the (decompressed) archive file, if any
	opts        options

	rawConfig   []byte
	config      *v1.ConfigFile
	rawManifest []byte                  // OCI only; docker archives get one made
	rawIndex    []byte                  // the (innermost) index the manifest was picked from, or nil
	entry       v1.Descriptor           // OCI: the picked entry of index.json
	picked      v1.Descriptor           // OCI: the picked image manifest (entry, or in a nested index)
	configName  string                  // docker-archive: the config's member name
	annotations *wire.DockerAnnotations // docker-archive: its manifest's, or nil
	layers      []*layer
	v1img       v1.Image

	docs     *archiveDocs // the archive's list of images, once parsed
	borrowed bool         // the store and file are another Image's (Select)

	indexOnce sync.Once
	index     *Index
	indexErr  error
}

// Format returns the archive format found by Open.
func (img *Image) Format() Format { return img.format }

// Compression returns the compression of the archive file ("uncompressed",
// "gzip", "zstd" or "xz").
func (img *Image) Compression() string { return img.compression.Label() }

// Ref returns the "name:tag" the image was picked by, or the first one the
// archive gives it; "" when it has none.
func (img *Image) Ref() string { return img.ref }

// ConfigFile returns the image's config as the archive holds it (a legacy
// archive's config is made from its top layer's json, with the diffIDs
// computed).
func (img *Image) ConfigFile() *v1.ConfigFile { return img.config.DeepCopy() }

// RawIndex returns the bytes of the multi-platform index the image was
// picked from (an OCI layout whose entry is an index), or nil when the
// entry was an image manifest. Its other images open WithManifest.
func (img *Image) RawIndex() []byte { return append([]byte(nil), img.rawIndex...) }

// RawConfigFile returns the config's bytes.
func (img *Image) RawConfigFile() []byte { return append([]byte(nil), img.rawConfig...) }

// Layers returns the layers, bottom first. Their Compressed streams are the
// archive's blobs byte for byte, checked as they are read against the
// manifest's digest and, decompressed on the side, the config's diffIDs;
// their Uncompressed streams are checked against the diffIDs.
func (img *Image) Layers() []v1.Layer {
	ls := make([]v1.Layer, len(img.layers))
	for i, l := range img.layers {
		ls[i] = l
	}
	return ls
}

// V1 returns the image as a go-containerregistry image. A docker archive
// gets a Docker schema 2 manifest made from its layers.
func (img *Image) V1() v1.Image { return img.v1img }

// DiffIDs returns the layers' diffIDs after checking every layer against
// them (this reads every layer once, as Index does, and shares its work).
func (img *Image) DiffIDs() ([]v1.Hash, error) {
	if _, err := img.Index(); err != nil {
		return nil, err
	}
	return append([]v1.Hash(nil), img.config.RootFS.DiffIDs...), nil
}

// Close removes the image's temporary files.
func (img *Image) Close() error {
	if img.borrowed {
		return nil
	}
	var err error
	if img.store != nil {
		err = img.store.close()
	}
	if img.file != nil {
		if cerr := img.file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// setConfig keeps the raw config and checks it against the layers.
func (img *Image) setConfig(raw []byte) error {
	var cfg v1.ConfigFile
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("decoding the config of image %q: %w", img.src, err)
	}
	img.rawConfig, img.config = raw, &cfg
	return nil
}

// finish checks that the config has one diffID per layer and builds the
// go-containerregistry view.
func (img *Image) finish() error {
	if n, m := len(img.config.RootFS.DiffIDs), len(img.layers); n != m {
		return fmt.Errorf("image %q: config has %d rootfs.diff_ids for %d layers: %w", img.src, n, m, ErrFormat)
	}
	for i, l := range img.layers {
		l.diffID = img.config.RootFS.DiffIDs[i]
	}
	v, err := partial.CompressedToImage(imageCore{img})
	if err != nil {
		return err
	}
	img.v1img = v
	return nil
}

// imageCore is the partial.CompressedImageCore of an Image.
type imageCore struct{ img *Image }

func (c imageCore) RawConfigFile() ([]byte, error) { return c.img.rawConfig, nil }

func (c imageCore) MediaType() (types.MediaType, error) {
	if c.img.rawManifest != nil {
		var m struct {
			MediaType types.MediaType `json:"mediaType"`
		}
		if err := json.Unmarshal(c.img.rawManifest, &m); err == nil && m.MediaType != "" {
			return m.MediaType, nil
		}
		return types.OCIManifestSchema1, nil
	}
	return types.DockerManifestSchema2, nil
}

func (c imageCore) RawManifest() ([]byte, error) {
	if c.img.rawManifest != nil {
		return c.img.rawManifest, nil
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config: v1.Descriptor{
			MediaType: types.DockerConfigJSON,
			Size:      int64(len(c.img.rawConfig)),
		},
	}
	var err error
	if m.Config.Digest, _, err = v1.SHA256(bytes.NewReader(c.img.rawConfig)); err != nil {
		return nil, err
	}
	if err := c.img.digestLayers(); err != nil {
		return nil, err
	}
	for _, l := range c.img.layers {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: l.mediaType, Size: l.size, Digest: d})
	}
	if a := c.img.annotations; a != nil {
		m.Annotations = a.Manifest
		for i, la := range a.Layers {
			m.Layers[i].Annotations = la
		}
	}
	return json.Marshal(m)
}

func (c imageCore) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, l := range c.img.layers {
		if d, err := l.Digest(); err == nil && d == h {
			return l, nil
		}
	}
	return nil, fmt.Errorf("image %q has no layer %s: %w", c.img.src, h, ErrMissing)
}

// layer is one layer blob of an archive.
type layer struct {
	img       *Image
	idx       int
	blob      string // name in the store
	size      int64
	mediaType types.MediaType
	diffID    v1.Hash

	mu          sync.Mutex
	digest      v1.Hash
	digestKnown bool // from the manifest (OCI), or computed
	// checked: a read of the blob found it to have digest and to
	// decompress to diffID, so a blob with digest needs no second check.
	checked bool
}

var _ v1.Layer = (*layer)(nil)

func (l *layer) String() string {
	return fmt.Sprintf("layer %d (%s) of image %q", l.idx, l.blob, l.img.src)
}

// Digest returns the blob's digest: the manifest's for OCI images, computed
// for docker archives, in the same read that checks the blob against the
// diffID.
func (l *layer) Digest() (v1.Hash, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.digestKnown {
		return l.digest, nil
	}
	if h, ok := l.img.docs.knownDigest(l.blob); ok {
		l.digest, l.digestKnown = h, true
		return h, nil
	}
	rc, _, err := l.img.store.open(l.blob)
	if err != nil {
		return v1.Hash{}, err
	}
	d := l.checkDiffID(rc)
	h, _, err := v1.SHA256(d)
	d.Close()
	rc.Close()
	if err != nil && !d.failed(err) {
		err = fmt.Errorf("hashing %s: %w", l, err)
	}
	if err != nil {
		return v1.Hash{}, err
	}
	l.digest, l.digestKnown, l.checked = h, true, true
	l.img.docs.setDigest(l.blob, h)
	return h, nil
}

// hash reads rc to its end, closes it and returns its sha256, naming the
// layer in an error.
func (l *layer) hash(rc io.ReadCloser) (v1.Hash, error) {
	defer rc.Close()
	h, _, err := v1.SHA256(rc)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("hashing %s: %w", l, err)
	}
	return h, nil
}

// setChecked records that the blob, read to its end, had the digest h and
// decompressed to the diffID.
func (l *layer) setChecked(h v1.Hash) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.digestKnown {
		l.digest, l.digestKnown = h, true
		l.img.docs.setDigest(l.blob, h)
	}
	l.checked = l.digest == h
}

// DiffID returns the config's diffID for the layer.
func (l *layer) DiffID() (v1.Hash, error) { return l.diffID, nil }

// Size returns the blob's size.
func (l *layer) Size() (int64, error) { return l.size, nil }

// MediaType returns the manifest's media type, or for docker archives one
// chosen by the blob's magic bytes.
func (l *layer) MediaType() (types.MediaType, error) { return l.mediaType, nil }

// Compressed returns the blob as it is, checked at its end against its
// digest and size when the digest is known, and against the diffID (the
// blob decompressed on the side as it is read) unless a read of the blob
// checked that already: its end is an error naming the layer and both
// digests when the blob is not the layer the manifest and config name.
func (l *layer) Compressed() (io.ReadCloser, error) {
	return l.compressed(true)
}

// compressed returns the blob checked against its digest when known, and
// against its diffID when diffID is set and no read checked it yet.
func (l *layer) compressed(diffID bool) (io.ReadCloser, error) {
	rc, _, err := l.img.store.open(l.blob)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	known, d, checked := l.digestKnown, l.digest, l.checked
	l.mu.Unlock()
	var r io.Reader = rc
	if known {
		if r, err = verify.NewReader(rc, d, l.size, l.String()); err != nil {
			rc.Close()
			return nil, err
		}
	}
	if diffID && !checked {
		side := l.checkDiffID(r)
		return readCloser{side, multiCloser{side, rc}}, nil
	}
	return readCloser{r, rc}, nil
}

// Uncompressed returns the layer's tar stream, checked against the diffID
// at its end and limited to MaxBytes.
func (l *layer) Uncompressed() (io.ReadCloser, error) {
	return l.tarStream(true, newBudget(l.img.opts.limits.MaxBytes, l.String()))
}

// tarStream decompresses the blob within the budget b (which several
// layers may share), checking the diffID when check is set.
func (l *layer) tarStream(check bool, b *budget) (io.ReadCloser, error) {
	rc, err := l.compressed(false)
	if err != nil {
		return nil, err
	}
	c, r, err := peek(rc)
	if err == nil {
		var d io.ReadCloser
		if d, err = decompress(r, c); err == nil {
			var s io.Reader = &limitReader{ctxReader{l.img.opts.ctx, d}, b}
			if check {
				s, err = verify.NewReader(s, l.diffID, -1, l.String()+" (uncompressed)")
			}
			if err == nil {
				return readCloser{s, multiCloser{d, rc}}, nil
			}
		}
	}
	rc.Close()
	return nil, fmt.Errorf("reading %s: %w", l, err)
}

type readCloser struct {
	io.Reader
	io.Closer
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var err error
	for _, c := range m {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
