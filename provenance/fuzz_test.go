package provenance

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// FuzzParse: Parse of any bytes returns a statement or an error, never
// panics; a statement it accepts is accepted again from its own bytes.
func FuzzParse(f *testing.F) {
	st, err := Make(testInput())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(st.JSON)
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Parse(data, "fuzz")
		if err != nil {
			return
		}
		if _, err := Parse(got.JSON, "fuzz again"); err != nil {
			t.Errorf("accepted once, refused again: %v", err)
		}
	})
}

// TestMakeScales: a closure of 20,000 store paths makes a statement of
// about 150 bytes a path, far under MaxSize (the time is logged: 0.64 s of
// CPU on the test machine).
func TestMakeScales(t *testing.T) {
	in := testInput()
	in.StorePaths = nil
	for i := range 20000 {
		in.StorePaths = append(in.StorePaths, StorePath{Path: fmt.Sprintf("/nix/store/%032d-p%d", i, i), NarHash: "sha256:" + strings.Repeat("ab", 32)})
	}
	start := time.Now()
	st, err := Make(in)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	perPath := len(st.JSON) / len(in.StorePaths)
	t.Logf("20,000 store paths: %d bytes (%d a path) in %v", len(st.JSON), perPath, elapsed)
	if perPath > 200 || len(st.JSON) > MaxSize {
		t.Errorf("%d bytes a path", perPath)
	}
}
