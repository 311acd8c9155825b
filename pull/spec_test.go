package pull

import (
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nixlayer/nixlayer/registry"
)

func TestParseSpec(t *testing.T) {
	const d = `"sha256:0000000000000000000000000000000000000000000000000000000000000000"`
	tests := []struct {
		name, json string
		platform   v1.Platform
		insecure   bool
		err        string
	}{
		{"defaults from system", `{"imageName":"a","imageDigest":` + d + `,"system":"aarch64-linux","tlsVerify":true}`, v1.Platform{OS: "linux", Architecture: "arm64"}, false, ""},
		{"explicit arch", `{"imageName":"a","imageDigest":` + d + `,"arch":"arm/v7","system":"x86_64-linux","tlsVerify":false}`, v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, true, ""},
		{"nulls", `{"imageName":"a","imageDigest":` + d + `,"arch":null,"variant":null,"caCertFile":null,"system":"x86_64-linux"}`, v1.Platform{OS: "linux", Architecture: "amd64"}, false, ""},
		{"missing digest", `{"imageName":"a"}`, v1.Platform{}, false, "imageDigest is missing"},
		{"bad digest", `{"imageName":"a","imageDigest":"sha256:12"}`, v1.Platform{}, false, `reading imageDigest "sha256:12" in attrs.json`},
		{"unknown field", `{"imageName":"a","imageDigest":` + d + `,"imageTag":"x"}`, v1.Platform{}, false, `unknown field "imageTag"`},
		{"bad format", `{"imageName":"a","imageDigest":` + d + `,"format":"zip"}`, v1.Platform{}, false, "reading format in attrs.json"},
		{"bad arch", `{"imageName":"a","imageDigest":` + d + `,"arch":"z80"}`, v1.Platform{}, false, `unknown architecture "z80"`},
		{"bad image name", `{"imageName":"Not/A Name","imageDigest":` + d + `}`, v1.Platform{}, false, `reading pullImage arguments in attrs.json: reading image reference "Not/A Name@sha256:`},
		{"min rate", `{"imageName":"a","imageDigest":` + d + `,"minRate":4096,"system":"x86_64-linux"}`, v1.Platform{OS: "linux", Architecture: "amd64"}, false, ""},
		{"negative min rate", `{"imageName":"a","imageDigest":` + d + `,"minRate":-1}`, v1.Platform{}, false, `minRate = -1 is not a positive number of bytes a second`},
		{"min rate as a string", `{"imageName":"a","imageDigest":` + d + `,"minRate":"1KiB"}`, v1.Platform{}, false, `minRate`},
		{"bad final tag", `{"imageName":"a","imageDigest":` + d + `,"finalImageTag":"no spaces"}`, v1.Platform{}, false, `reading pullImage arguments in attrs.json: reading finalImageName:finalImageTag "a:no spaces"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSpec([]byte(tt.json), "attrs.json")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o := registry.NewOptions(s.Options()...)
			if tt.name == "min rate" && o.Timeouts().MinRate != 4096 {
				t.Errorf("minRate 4096 gave %d", o.Timeouts().MinRate)
			}
			if !o.Platform().Equals(tt.platform) || o.Insecure() != tt.insecure {
				t.Errorf("platform %+v insecure %v, want %+v %v", o.Platform(), o.Insecure(), tt.platform, tt.insecure)
			}
		})
	}
}
