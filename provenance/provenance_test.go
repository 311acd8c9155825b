package provenance

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testInput is a statement's input with two store paths and a base.
func testInput() Input {
	return Input{
		Name:       "hello",
		Manifest:   v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)},
		Parameters: json.RawMessage(`{"name":"hello","contents":["/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-hello-2.12"],"maxLayers":100,"extraCommands":"a && b <c>"}`),
		StorePaths: []StorePath{
			{Path: "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-hello-2.12", NarHash: "sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s"},
			{Path: "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-glibc-2.40", NarHash: "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
		},
		Base:    &Base{Path: "/nix/store/cccccccccccccccccccccccccccccccc-base.tar", Ref: "base:v1", MediaType: "application/vnd.oci.image.manifest.v1+json", Manifest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("cd", 32)}},
		Version: "1.2.3",
	}
}

func TestMakeGolden(t *testing.T) {
	st, err := Make(testInput())
	if err != nil {
		t.Fatal(err)
	}
	if st.PredicateType != PredicateType {
		t.Errorf("predicate type %q", st.PredicateType)
	}
	golden := filepath.Join("testdata", "statement.json")
	if *update {
		if err := os.WriteFile(golden, append(st.JSON, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(st.JSON, '\n'), want) {
		t.Errorf("statement differs from %s (go test -update rewrites it):\n%s", golden, st.JSON)
	}
	again, err := Make(testInput())
	if err != nil || !bytes.Equal(again.JSON, st.JSON) {
		t.Errorf("a second Make gave other bytes (%v)", err)
	}
	if _, err := Parse(st.JSON, "test"); err != nil {
		t.Errorf("Parse of Make's statement: %v", err)
	}
}

func TestMakeShape(t *testing.T) {
	st, err := Make(testInput())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Type    string `json:"_type"`
		Subject []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate struct {
			BuildDefinition struct {
				BuildType            string         `json:"buildType"`
				ExternalParameters   map[string]any `json:"externalParameters"`
				ResolvedDependencies []struct {
					Name   string            `json:"name"`
					Digest map[string]string `json:"digest"`
				} `json:"resolvedDependencies"`
			} `json:"buildDefinition"`
			RunDetails struct {
				Builder struct {
					ID      string            `json:"id"`
					Version map[string]string `json:"version"`
				} `json:"builder"`
			} `json:"runDetails"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(st.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	bd := doc.Predicate.BuildDefinition
	deps := bd.ResolvedDependencies
	switch {
	case doc.Type != "https://in-toto.io/Statement/v1":
		t.Errorf("_type %q", doc.Type)
	case len(doc.Subject) != 1 || doc.Subject[0].Name != "hello" || doc.Subject[0].Digest["sha256"] != strings.Repeat("ab", 32):
		t.Errorf("subject %+v", doc.Subject)
	case bd.BuildType != BuildType || bd.ExternalParameters["extraCommands"] != "a && b <c>" || bd.ExternalParameters["maxLayers"] != 100.0:
		t.Errorf("build definition %+v", bd)
	case len(deps) != 3 || deps[1].Digest["sha256"] != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" || deps[2].Digest["sha256"] != strings.Repeat("cd", 32):
		t.Errorf("dependencies %+v", deps)
	case doc.Predicate.RunDetails.Builder.ID != BuilderID || doc.Predicate.RunDetails.Builder.Version["nixlayer"] != "1.2.3":
		t.Errorf("builder %+v", doc.Predicate.RunDetails.Builder)
	}
	if bytes.Contains(st.JSON, []byte(`\u0026`)) {
		t.Errorf("HTML-escaped: %s", st.JSON)
	}
}

func TestMakeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Input)
		want string
	}{
		{"no NAR hash", func(in *Input) { in.StorePaths[0].NarHash = "" }, "has no NAR hash"},
		{"bad NAR hash", func(in *Input) { in.StorePaths[0].NarHash = "sha256:xyz" }, "aaaaaaaa"},
		{"parameters not an object", func(in *Input) { in.Parameters = json.RawMessage(`[1]`) }, "not a JSON object"},
		{"no subject digest", func(in *Input) { in.Manifest = v1.Hash{} }, "digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := testInput()
			tc.edit(&in)
			_, err := Make(in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	st, err := Make(testInput())
	if err != nil {
		t.Fatal(err)
	}
	good := string(st.JSON)
	for _, tc := range []struct{ name, doc string }{
		{"not JSON", "{"},
		{"wrong type", strings.Replace(good, "https://in-toto.io/Statement/v1", "https://example.com/x", 1)},
		{"unknown field", strings.Replace(good, `"_type"`, `"extra":1,"_type"`, 1)},
		{"no subject digest", strings.Replace(good, `"digest":{"sha256":"`+strings.Repeat("ab", 32)+`"},"name":"hello"`, `"name":"hello"`, 1)},
		{"bad digest", strings.Replace(good, strings.Repeat("ab", 32), "abc", 1)},
		{"predicate without build type", strings.Replace(good, `"buildType":"`+BuildType+`",`, "", 1)},
		{"predicate field unknown", strings.Replace(good, `"buildDefinition":{`, `"buildDefinition":{"bogus":1,`, 1)},
		{"no builder id", strings.Replace(good, `"id":"`+BuilderID+`",`, "", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.doc == good {
				t.Fatal("the case changed nothing")
			}
			if _, err := Parse([]byte(tc.doc), "test"); err == nil {
				t.Errorf("Parse accepted %s", tc.doc)
			}
		})
	}
}

func TestWithDerivation(t *testing.T) {
	st, err := Make(testInput())
	if err != nil {
		t.Fatal(err)
	}
	drv := "/nix/store/dddddddddddddddddddddddddddddddd-hello.drv"
	with, err := WithDerivation(st, drv, "sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(with.JSON, []byte(`"derivation":"`+drv+`"`)) || !bytes.Contains(with.JSON, []byte(`{"annotations":{"role":"derivation"},"digest":{"sha256":`)) {
		t.Errorf("no derivation in %s", with.JSON)
	}
	if _, err := Parse(with.JSON, "test"); err != nil {
		t.Error(err)
	}
	twice, err := WithDerivation(with, "/nix/store/other.drv", "x")
	if err != nil || !bytes.Equal(twice.JSON, with.JSON) {
		t.Errorf("a second derivation changed the statement (%v)", err)
	}
}

func TestWithSubject(t *testing.T) {
	st, err := Make(testInput())
	if err != nil {
		t.Fatal(err)
	}
	other := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ef", 32)}
	moved, err := WithSubject(st, other)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(moved.JSON, []byte(`"subject":[{"digest":{"sha256":"`+other.Hex+`"},"name":"hello"}]`)) || bytes.Contains(moved.JSON, []byte(strings.Repeat("ab", 32))) {
		t.Errorf("moved statement %s", moved.JSON)
	}
	same, err := WithSubject(moved, other)
	if err != nil || !bytes.Equal(same.JSON, moved.JSON) {
		t.Errorf("moving to its own subject changed it (%v)", err)
	}
}
