package sign

import (
	"bytes"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// MaxLayers bounds the layers of a cosign image read back: each is a
// signature or an attestation, and a registry could list any number.
const MaxLayers = 1000

// maxLayerBytes bounds one layer read back: an envelope of a statement
// of MaxStatementBytes (base64, a third larger), with room; maxTotalBytes
// bounds all the layers of one image together.
const (
	maxLayerBytes = 2 * MaxStatementBytes
	maxTotalBytes = 4 * MaxStatementBytes
)

// SignatureTag is the tag cosign keeps the signatures of the manifest d
// under, in the same repository: "sha256-<hex>.sig".
func SignatureTag(d v1.Hash) string { return d.Algorithm + "-" + d.Hex + ".sig" }

// AttestationTag is the tag cosign keeps the attestations of d under:
// "sha256-<hex>.att".
func AttestationTag(d v1.Hash) string { return d.Algorithm + "-" + d.Hex + ".att" }

// Image is the image cosign keeps signatures or attestations in: an OCI
// manifest whose layers are the given layers, in order, over an empty
// config (go-containerregistry's, as cosign's own).
func Image(layers []Layer) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	adds := make([]mutate.Addendum, 0, len(layers))
	for _, l := range layers {
		adds = append(adds, mutate.Addendum{Layer: static.NewLayer(l.Data, l.MediaType), Annotations: l.Annotations})
	}
	return mutate.Append(img, adds...)
}

// Merge returns old with each layer of add that old does not hold yet:
// one a signer made again (same payload, verifying with the same key)
// counts as held, so signing an image twice adds nothing.
func Merge(old, add []Layer, v *Verifier) []Layer {
	out := append([]Layer(nil), old...)
	for _, a := range add {
		held := false
		for _, o := range old {
			if o.MediaType == a.MediaType && sameSigned(o, a, v) {
				held = true
				break
			}
		}
		if !held {
			out = append(out, a)
		}
	}
	return out
}

// sameSigned reports whether o is a's payload signed by v's key.
func sameSigned(o, a Layer, v *Verifier) bool {
	if o.MediaType == SimpleSigningMediaType {
		return string(o.Data) == string(a.Data) && v.verifyRaw(o) == nil
	}
	p1, err1 := v.envelopePayload(o)
	p2, err2 := payloadOf(a)
	return err1 == nil && err2 == nil && string(p1) == string(p2)
}

// Layers reads the layers of a cosign image (from a registry): at most
// MaxLayers, each at most maxLayerBytes and all at most maxTotalBytes,
// each checked against its digest.
func Layers(img v1.Image) ([]Layer, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if len(m.Layers) > MaxLayers {
		return nil, fmt.Errorf("%d layers, over the %d a signature image may have", len(m.Layers), MaxLayers)
	}
	out := make([]Layer, 0, len(m.Layers))
	var total int64
	for i, d := range m.Layers {
		if d.Size > maxLayerBytes || d.Size < 0 {
			return nil, fmt.Errorf("layer %d (%s) is %d bytes, over the %d byte limit", i, d.Digest, d.Size, maxLayerBytes)
		}
		if total += d.Size; total > maxTotalBytes {
			return nil, fmt.Errorf("the layers are over %d bytes together", maxTotalBytes)
		}
		data, err := readLayer(img, d)
		if err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i, d.Digest, err)
		}
		out = append(out, Layer{MediaType: d.MediaType, Data: data, Annotations: d.Annotations})
	}
	return out, nil
}

func readLayer(img v1.Image, d v1.Descriptor) ([]byte, error) {
	l, err := img.LayerByDigest(d.Digest)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, d.Size+1))
	if err != nil {
		return nil, err
	}
	h, n, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if n != d.Size || h != d.Digest {
		return nil, fmt.Errorf("the registry sent %d bytes of digest %s, not %d bytes of %s", n, h, d.Size, d.Digest)
	}
	return data, nil
}
