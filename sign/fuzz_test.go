package sign

import (
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// FuzzParseStatement: any bytes as a statement or an envelope give an
// error or a statement, never a panic.
func FuzzParseStatement(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":[{"digest":{"sha256":"ab"}}]}`))
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AA=="}]}`))
	f.Add([]byte(`{"subject":[{"digest":null}]}`))
	d, _ := v1.NewHash("sha256:ab00000000000000000000000000000000000000000000000000000000000000")
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := ParseStatement(data); err == nil {
			s.Names(d)
		}
		_, _ = payloadOf(Layer{MediaType: DSSEMediaType, Data: data})
	})
}

// FuzzLoadKey: any key file gives an error naming it or a key, never a
// panic.
func FuzzLoadKey(f *testing.F) {
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIB0+\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnt9fQ==\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "key")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, _ = LoadPrivateKey(p, password("pw"))
		_, _ = LoadPublicKey(p)
	})
}
