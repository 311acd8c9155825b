package base

import (
	"encoding/json"
	"fmt"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Select returns the image at position i (from 0) of the archive img was
// read from, picked from the archive img holds open: the archive is not
// opened, decompressed or indexed again, and its list (manifest.json or
// index.json) is parsed once for all the images selected, so reading every
// image of an archive of n images takes time linear in n. The image
// shares img's archive and limits: its Close releases nothing; close img
// once done with every image selected from it.
func (img *Image) Select(i int) (*Image, error) {
	o := img.opts
	o.position = i + 1
	if img.docs == nil {
		img.docs = &archiveDocs{}
	}
	sel := &Image{src: img.src, format: img.format, compression: img.compression, store: img.store, file: img.file,
		opts: o, docs: img.docs, borrowed: true}
	var err error
	switch img.format {
	case DockerArchive:
		err = sel.openDocker()
	case DockerArchiveLegacy:
		err = sel.openLegacy()
	default:
		err = sel.openOCI()
	}
	if err != nil {
		return nil, err
	}
	return sel, nil
}

// archiveDocs are an archive's list of images, parsed once and shared by
// the images Select picks from it.
type archiveDocs struct {
	docker     dockerManifest
	index      *v1.IndexManifest
	dockerRefs [][]imageRef
	indexRefs  [][]imageRef

	mu      sync.Mutex
	digests map[string]v1.Hash // of blobs whose digest was computed, by name
}

// knownDigest returns the digest computed earlier of the blob name, by
// any image of the archive: a layer several images share is hashed once.
func (d *archiveDocs) knownDigest(name string) (v1.Hash, bool) {
	if d == nil {
		return v1.Hash{}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	h, ok := d.digests[name]
	return h, ok
}

// setDigest records the digest computed of the blob name.
func (d *archiveDocs) setDigest(name string, h v1.Hash) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.digests == nil {
		d.digests = map[string]v1.Hash{}
	}
	d.digests[name] = h
}

// dockerList returns the archive's manifest.json and each entry's refs.
func (img *Image) dockerList() (dockerManifest, [][]imageRef, error) {
	if img.docs != nil && img.docs.dockerRefs != nil {
		return img.docs.docker, img.docs.dockerRefs, nil
	}
	b, err := img.readAll("manifest.json")
	if err != nil {
		return nil, nil, err
	}
	var m dockerManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil, fmt.Errorf("decoding manifest.json of image %q: %w", img.src, err)
	}
	refs := make([][]imageRef, len(m))
	for i, e := range m {
		for _, t := range e.RepoTags {
			refs[i] = append(refs[i], parseRef(t))
		}
	}
	if img.docs == nil {
		img.docs = &archiveDocs{}
	}
	img.docs.docker, img.docs.dockerRefs = m, refs
	return m, refs, nil
}

// indexList returns the archive's index.json and each entry's refs.
func (img *Image) indexList() (*v1.IndexManifest, [][]imageRef, error) {
	if img.docs != nil && img.docs.index != nil {
		return img.docs.index, img.docs.indexRefs, nil
	}
	b, err := img.readAll("index.json")
	if err != nil {
		return nil, nil, err
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, nil, fmt.Errorf("decoding index.json of image %q: %w", img.src, err)
	}
	refs := make([][]imageRef, len(idx.Manifests))
	for i, d := range idx.Manifests {
		refs[i] = descRefs(d)
	}
	if img.docs == nil {
		img.docs = &archiveDocs{}
	}
	img.docs.index, img.docs.indexRefs = &idx, refs
	return &idx, refs, nil
}
