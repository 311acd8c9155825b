package base

import (
	"errors"
	"strings"
	"testing"
)

// TestDockerSideMembers: a docker-archive's annotations member goes into
// the manifest made of it, and its provenance member is read within the
// bound; damaged or oversized members are errors naming the member.
func TestDockerSideMembers(t *testing.T) {
	s := layersOf(tarOf(t, reg("etc/a", "x")))
	cfgHex := sha(s.configBytes(t)).Hex
	for _, tc := range []struct {
		name       string
		extra      map[string][]byte
		openErr    string // from Open
		provErr    error  // from Provenance
		annotation string // in the manifest
		statement  string
	}{
		{name: "none"},
		{name: "annotations", extra: map[string][]byte{cfgHex + ".annotations.json": []byte(`{"manifest":{"a":"b"},"layers":[{"c":"d"}]}`)}, annotation: `"annotations":{"a":"b"}`},
		{name: "annotations for other layers", extra: map[string][]byte{cfgHex + ".annotations.json": []byte(`{"layers":[{},{}]}`)}, openErr: "annotations for 2 layers"},
		{name: "annotations unknown field", extra: map[string][]byte{cfgHex + ".annotations.json": []byte(`{"bogus":1}`)}, openErr: "unknown field"},
		{name: "annotations over the limit", extra: map[string][]byte{cfgHex + ".annotations.json": []byte(strings.Repeat(" ", maxMetadataBytes+1))}, openErr: "limit"},
		{name: "statement", extra: map[string][]byte{cfgHex + ".intoto.json": []byte(`{"x":1}`)}, statement: `{"x":1}`},
		{name: "statement over the limit", extra: map[string][]byte{cfgHex + ".intoto.json": []byte(strings.Repeat("x", 101))}, provErr: ErrLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s
			c.extra = tc.extra
			img, err := Open(file(t, c.docker(t)))
			if tc.openErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.openErr) {
					t.Fatalf("Open: %v, want an error saying %q", err, tc.openErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			raw, err := img.V1().RawManifest()
			if err != nil {
				t.Fatal(err)
			}
			if tc.annotation != "" && (!strings.Contains(string(raw), tc.annotation) || !strings.Contains(string(raw), `"annotations":{"c":"d"}`)) {
				t.Errorf("manifest %s, want %s and the layer's", raw, tc.annotation)
			}
			if tc.annotation == "" && strings.Contains(string(raw), "annotations") {
				t.Errorf("manifest %s has annotations", raw)
			}
			data, ok, err := img.Provenance(100)
			switch {
			case tc.provErr != nil:
				if !errors.Is(err, tc.provErr) || !strings.Contains(err.Error(), ".intoto.json") {
					t.Errorf("Provenance: %v, want %v naming the member", err, tc.provErr)
				}
			case err != nil || ok != (tc.statement != "") || string(data) != tc.statement:
				t.Errorf("Provenance = %q, %v, %v; want %q", data, ok, err, tc.statement)
			}
		})
	}
}
