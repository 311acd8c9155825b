package wire

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current output")

func ptr[T any](v T) *T { return &v }

const (
	digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	diffID = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func descriptor() Descriptor {
	return Descriptor{Digest: digest, DiffID: diffID, Size: 1234, UncompressedSize: 10240,
		MediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", Compression: "gzip",
		StorePaths: []string{"/nix/store/00000000000000000000000000000000-hello"}, Comment: "store paths: /nix/store/00000000000000000000000000000000-hello"}
}

func script() *Script {
	return &Script{
		Ref:         "hello:v1",
		Config:      json.RawMessage(`{"Cmd":["/bin/hello"]}`),
		Platform:    Platform{Architecture: "arm", Variant: "v7", OS: "linux"},
		Created:     "1970-01-01T00:00:01Z",
		MTime:       1,
		Compression: "gzip",
		Base:        &Base{Path: "/nix/store/11111111111111111111111111111111-base.tar", Tag: "v2"},
		Layers: []Layer{
			{Descriptor: descriptor(), File: "/nix/store/33333333333333333333333333333333-layer-hello/blobs/sha256/1111111111111111111111111111111111111111111111111111111111111111"},
			{Descriptor: descriptor(), Uid: 1000, Gid: 100, Size: 4096,
				Rules: []Rule{{Path: "nix/store/00000000000000000000000000000000-hello/bin/hello", Mode: ptr(int64(0o4755)), Uid: ptr(0), Uname: ptr("root"), Source: "perms[0] (/bin/hello)"}}},
			{Descriptor: Descriptor{Digest: digest, DiffID: diffID, Size: 20, UncompressedSize: 2048, MediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", Compression: "gzip", Comment: "contents at the image root"},
				Extra: []Entry{
					{Name: "bin", Type: "dir", Mode: 0o755, Uname: "root", Gname: "root"},
					{Name: "bin/hello", Type: "symlink", Mode: 0o777, Linkname: "/nix/store/00000000000000000000000000000000-hello/bin/hello", Uname: "root", Gname: "root"},
					{Name: "etc/motd", Type: "file", Mode: 0o644, Size: 6, Data: []byte("hello\n"), Uname: "root", Gname: "root"},
					{Name: "etc/app.conf", Type: "file", Mode: 0o600, Size: 3, Source: "/nix/store/22222222222222222222222222222222-app.conf", Uid: 1000, Gid: 100},
				},
				Rules: []Rule{{Path: "var/lib/app", Regex: ".*", Gid: ptr(100), Gname: ptr("app"), Source: "perms[1] (/var/lib/app)"}}},
		},
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed: the wire format changed shape; bump Version and write a new golden file.\n got %s\nwant %s", name, got, want)
	}
	return want
}

// TestScriptGolden pins the bytes of a stream script body of this version,
// and reads the golden file back to the same value.
func TestScriptGolden(t *testing.T) {
	got, err := EncodeScript(script())
	if err != nil {
		t.Fatal(err)
	}
	want := golden(t, "script-v3.json", got)
	back, err := DecodeScript(want, "golden script")
	if err != nil {
		t.Fatal(err)
	}
	s := script()
	s.Version = Version
	if !reflect.DeepEqual(back, s) {
		t.Errorf("decoded\n%+v\nwant\n%+v", back, s)
	}
}

func layerFile() *LayerFile {
	return &LayerFile{Platform: Platform{Architecture: "amd64", OS: "linux"}, Layers: []Descriptor{descriptor()}}
}

// TestLayerFileGolden pins the bytes of a cached layer derivation's
// document.
func TestLayerFileGolden(t *testing.T) {
	got, err := EncodeLayerFile(layerFile())
	if err != nil {
		t.Fatal(err)
	}
	want := golden(t, "layer-v3.json", got)
	back, err := DecodeLayerFile(want, "golden layer file")
	if err != nil {
		t.Fatal(err)
	}
	f := layerFile()
	f.Version = Version
	if !reflect.DeepEqual(back, f) {
		t.Errorf("decoded %+v, want %+v", back, f)
	}
}

func TestBlobPath(t *testing.T) {
	if got, want := BlobPath(digest), "blobs/sha256/1111111111111111111111111111111111111111111111111111111111111111"; got != want {
		t.Errorf("BlobPath = %s, want %s", got, want)
	}
}

// TestVersions: a document of another version, of none, or with a field
// this version does not know is refused with an error saying so.
func TestVersions(t *testing.T) {
	body, err := EncodeScript(script())
	if err != nil {
		t.Fatal(err)
	}
	layer, err := EncodeLayerFile(layerFile())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, doc, want string
		descriptor      bool
	}{
		{name: "newer", doc: strings.Replace(string(body), `"version":3`, `"version":4`, 1), want: "x has version 4; this nixlayer reads version 3: rebuild it with this one (it was written by a newer nixlayer)"},
		{name: "older", doc: strings.Replace(string(body), `"version":3`, `"version":2`, 1), want: "x has version 2; this nixlayer reads version 3: rebuild it with this one (it was written by an older nixlayer)"},
		{name: "none", doc: `{"ref":"a:b"}`, want: "x has no version"},
		{name: "unknown field", doc: strings.Replace(string(body), `"ref":`, `"reference":"a","ref":`, 1), want: `reading x (wire version 3): json: unknown field "reference"`},
		{name: "not JSON", doc: `{`, want: "reading x: unexpected end of JSON input"},
		{name: "newer descriptor", doc: strings.Replace(string(layer), `"version":3`, `"version":9`, 1), want: "x has version 9", descriptor: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.descriptor {
				_, err = DecodeLayerFile([]byte(tt.doc), "x")
			} else {
				_, err = DecodeScript([]byte(tt.doc), "x")
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
