package pull

import (
	"strings"
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

// FuzzParseLock feeds ParseLock arbitrary lock files: it must return a
// Lock or an error, never panic, and an accepted Lock must read back from
// what Marshal writes of it.
func FuzzParseLock(f *testing.F) {
	d := `"sha256:` + strings.Repeat("0", 64) + `"`
	blob := `{"digest":` + d + `,"size":10,"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip"}`
	f.Add([]byte(`{"version":1,"imageName":"127.0.0.1:5000/app","imageDigest":` + d + `,"finalImageName":"app","finalImageTag":"v1","platform":{"os":"linux","architecture":"amd64"},"manifest":` + blob + `,"config":` + blob + `,"layers":[` + blob + `]}`))
	f.Add([]byte(`{"version":1,"layers":[{"digest":"sha512:00","size":-1}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLock(data, "fuzz.lock.json")
		if err != nil {
			return
		}
		out, err := l.Marshal()
		if err != nil {
			t.Fatalf("Marshal of an accepted lock: %v", err)
		}
		if _, err := ParseLock(out, "again.lock.json"); err != nil {
			t.Errorf("ParseLock accepted %q, but not what Marshal wrote of it: %v", data, err)
		}
	})
}
