package base

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// dockerManifest is a docker-archive's manifest.json.
type dockerManifest []struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// openDocker reads a docker-archive in the registry format.
func (img *Image) openDocker() error {
	m, refs, err := img.dockerList()
	if err != nil {
		return err
	}
	i, err := img.pick(refs)
	if err != nil {
		return err
	}
	cfgName, err := img.cleanRef("manifest.json Config", m[i].Config)
	if err != nil {
		return err
	}
	raw, err := img.readAll(cfgName)
	if err != nil {
		return err
	}
	img.configName = cfgName
	if err := img.setConfig(raw); err != nil {
		return err
	}
	for j, name := range m[i].Layers {
		c, err := img.cleanRef(fmt.Sprintf("manifest.json Layers[%d]", j), name)
		if err != nil {
			return err
		}
		l, err := img.blobLayer(c)
		if err != nil {
			return err
		}
		img.layers = append(img.layers, l)
	}
	if err := img.readAnnotations(); err != nil {
		return err
	}
	return img.finish()
}

// legacyRef is one tag of a legacy archive's repositories file.
type legacyRef struct {
	imageRef
	id string
}

// legacyJSON is the part of a legacy archive's <id>/json that this package
// reads beyond the image config.
type legacyJSON struct {
	ID              string    `json:"id"`
	Parent          string    `json:"parent"`
	Created         time.Time `json:"created"`
	ContainerConfig struct {
		Cmd []string `json:"Cmd"`
	} `json:"container_config"`
}

// openLegacy reads a docker-archive in the legacy format: repositories
// maps names and tags to the top layer's id, each <id>/json names its
// parent, and <id>/layer.tar holds the layer. The config is the top json
// with rootfs.diff_ids computed from the layers and one history entry per
// layer.
func (img *Image) openLegacy() error {
	b, err := img.readAll("repositories")
	if err != nil {
		return err
	}
	tags, err := parseRepositories(b)
	if err != nil {
		return fmt.Errorf("decoding repositories of image %q: %w", img.src, err)
	}
	refs := make([][]imageRef, len(tags))
	for i, t := range tags {
		refs[i] = []imageRef{t.imageRef}
	}
	i, err := img.pick(refs)
	if err != nil {
		return err
	}
	var chain []legacyJSON
	var top []byte
	seen := map[string]bool{}
	for id := tags[i].id; id != ""; {
		if strings.Contains(id, "/") || seen[id] {
			return fmt.Errorf("image %q: layer id %q is invalid or repeats in the parent chain: %w", img.src, id, ErrUnsafe)
		}
		seen[id] = true
		name, err := img.cleanRef("layer json", id+"/json")
		if err != nil {
			return err
		}
		raw, err := img.readAll(name)
		if err != nil {
			return err
		}
		var j legacyJSON
		if err := json.Unmarshal(raw, &j); err != nil {
			return fmt.Errorf("decoding %q of image %q: %w", name, img.src, err)
		}
		j.ID = id
		if top == nil {
			top = raw
		}
		chain = append([]legacyJSON{j}, chain...)
		id = j.Parent
	}
	var cfg v1.ConfigFile
	if err := json.Unmarshal(top, &cfg); err != nil {
		return fmt.Errorf("decoding the top layer json of image %q: %w", img.src, err)
	}
	cfg.RootFS = v1.RootFS{Type: "layers"}
	cfg.History = nil
	// One budget for all the layers: ids that link to one blob share it.
	budget := newBudget(img.opts.limits.MaxBytes, fmt.Sprintf("the decompressed size of the layers of image %q", img.src))
	for _, j := range chain {
		name, err := img.cleanRef("layer", j.ID+"/layer.tar")
		if err != nil {
			return err
		}
		l, err := img.blobLayer(name)
		if err != nil {
			return err
		}
		img.layers = append(img.layers, l)
		d, err := l.hashUncompressed(budget)
		if err != nil {
			return err
		}
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, d)
		cfg.History = append(cfg.History, v1.History{Created: v1.Time{Time: j.Created}, CreatedBy: strings.Join(j.ContainerConfig.Cmd, " ")})
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := img.setConfig(raw); err != nil {
		return err
	}
	return img.finish()
}

// hashUncompressed computes the layer's diffID, within the budget b.
func (l *layer) hashUncompressed(b *budget) (v1.Hash, error) {
	rc, err := l.tarStream(false, b)
	if err != nil {
		return v1.Hash{}, err
	}
	return l.hash(rc)
}

// parseRepositories reads {"name": {"tag": "id", ...}, ...} keeping the
// order of the document (the first tag is the default image).
func parseRepositories(b []byte) ([]legacyRef, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var out []legacyRef
	delim := func(want json.Delim) error {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); !ok || d != want {
			return fmt.Errorf("expected %q, found %v", want, t)
		}
		return nil
	}
	// key reads an object key; the decoder guarantees it is a string.
	key := func() (string, error) {
		t, err := dec.Token()
		if err != nil {
			return "", err
		}
		k, _ := t.(string)
		return k, nil
	}
	if err := delim('{'); err != nil {
		return nil, err
	}
	for dec.More() {
		name, err := key()
		if err != nil {
			return nil, err
		}
		if err := delim('{'); err != nil {
			return nil, err
		}
		for dec.More() {
			tag, err := key()
			if err != nil {
				return nil, err
			}
			var id string
			if err := dec.Decode(&id); err != nil {
				return nil, err
			}
			out = append(out, legacyRef{imageRef{name, tag}, id})
		}
		if err := delim('}'); err != nil {
			return nil, err
		}
	}
	if err := delim('}'); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the repositories object")
	}
	return out, nil
}
