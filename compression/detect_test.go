package compression

import (
	"bytes"
	"io"
	"testing"
)

// TestRoundTrip writes data with every compression, finds the compression
// again by its magic bytes and reads it back with both readers.
func TestRoundTrip(t *testing.T) {
	data := sample(3<<20, 5)
	for _, tt := range []struct {
		c    Compression
		kind Compression
	}{{Gzip, Gzip}, {Zstd, Zstd}, {None, None}} {
		t.Run(string(tt.c), func(t *testing.T) {
			var buf bytes.Buffer
			w, err := tt.c.NewWriter(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(data); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			blob := buf.Bytes()
			if k := Sniff(blob); k != tt.kind {
				t.Errorf("Sniff = %s, want %s", k, tt.kind)
			}
			k, r, err := Peek(bytes.NewReader(blob))
			if err != nil || k != tt.kind {
				t.Fatalf("Peek = %s, %v; want %s", k, err, tt.kind)
			}
			hard, err := Decompress(r, k, 8<<20)
			if err != nil {
				t.Fatal(err)
			}
			own, err := tt.c.NewReader(bytes.NewReader(blob))
			if err != nil {
				t.Fatal(err)
			}
			for name, rc := range map[string]io.ReadCloser{"Decompress": hard, "NewReader": own} {
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("%s: %d bytes, %v; want the %d bytes written", name, len(got), err, len(data))
				}
			}
		})
	}
}

func TestDecompressRefusesXz(t *testing.T) {
	if _, err := Decompress(bytes.NewReader(xzMagic), Xz, 1<<20); err == nil {
		t.Error("Decompress took an xz stream; it must go through NewXzReader")
	}
}
