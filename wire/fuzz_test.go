package wire

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeLayerFile feeds the layer descriptor reader arbitrary bytes:
// a LayerFile or an error, never a panic; what it accepts encodes and
// decodes again to the same document.
func FuzzDecodeLayerFile(f *testing.F) {
	seed(f, "layer-v3.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, err := DecodeLayerFile(data, "fuzz")
		if err != nil {
			return
		}
		again, err := EncodeLayerFile(lf)
		if err != nil {
			t.Fatalf("encoding what was decoded: %v", err)
		}
		lf2, err := DecodeLayerFile(again, "fuzz")
		if err != nil {
			t.Fatalf("decoding what was encoded: %v", err)
		}
		if third, _ := EncodeLayerFile(lf2); !bytes.Equal(third, again) {
			t.Errorf("not a fixed point:\n%s\n%s", again, third)
		}
	})
}

// FuzzDecodeScript feeds the stream script body reader arbitrary bytes: a
// Script or an error, never a panic; what it accepts encodes and decodes
// again to the same document.
func FuzzDecodeScript(f *testing.F) {
	seed(f, "script-v3.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeScript(data, "fuzz")
		if err != nil {
			return
		}
		again, err := EncodeScript(s)
		if err != nil {
			return // a config that is not JSON is the reader's caller's to refuse
		}
		s2, err := DecodeScript(again, "fuzz")
		if err != nil {
			t.Fatalf("decoding what was encoded: %v\n%s", err, again)
		}
		if third, _ := EncodeScript(s2); !bytes.Equal(third, again) {
			t.Errorf("not a fixed point:\n%s\n%s", again, third)
		}
	})
}

// seed adds the golden document name of testdata, and a few broken ones.
func seed(f *testing.F, name string) {
	golden, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte(`{"version":3}`))
	f.Add([]byte(`{"version":2,"layers":[]}`))
	f.Add([]byte(`{"version":3,"unknown":1}`))
	f.Add([]byte(`[`))
}
