package pull

import (
	"testing"

	"github.com/nixlayer/nixlayer/registry"
)

// FuzzParseSpec feeds ParseSpec arbitrary structured-attrs JSON: it must
// return a Spec or an error, never panic, and an accepted Spec must give a
// request Pull can check.
func FuzzParseSpec(f *testing.F) {
	f.Add([]byte(`{"imageName":"127.0.0.1:5000/app","imageDigest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","os":"linux","arch":null,"variant":null,"finalImageName":"app","finalImageTag":"latest","tlsVerify":false,"format":"docker-archive","caCertFile":null,"system":"x86_64-linux"}`))
	f.Add([]byte(`{"imageName":"a","imageDigest":"sha256:zz"}`))
	f.Add([]byte(`{"imageName":"a","imageDigest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","arch":"arm/v7","format":"oci-layout"}`))
	f.Add([]byte(`{"unknown":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(data, "fuzz.json")
		if err != nil {
			return
		}
		r := s.Request()
		if _, err := r.reference(registry.NewOptions(s.Options()...)); err != nil {
			t.Errorf("ParseSpec accepted %q, but its request has no valid reference: %v", data, err)
		}
	})
}
