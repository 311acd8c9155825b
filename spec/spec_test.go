package spec

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/nixlayer/nixlayer/compression"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/layers"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Spec
		err  []string
	}{
		{
			name: "full",
			in:   `{"name":"hello","tag":"v1","contents":["/nix/store/x"],"config":{"Cmd":["/bin/hello"]},"created":"now","mtime":5,"uid":1,"gid":2,"architecture":"arm64","system":"x86_64-linux","format":"oci-layout","compression":"zstd","layering":"none","maxLayers":3}`,
			want: &Spec{Name: "hello", Tag: ptr("v1"), Contents: []string{"/nix/store/x"}, Config: json.RawMessage(`{"Cmd":["/bin/hello"]}`),
				Created: "now", MTime: ptr(Timestamp("5")), Uid: 1, Gid: 2, Architecture: "arm64", System: "x86_64-linux", Format: "oci-layout",
				Compression: "zstd", Layering: "none", MaxLayers: ptr(3)},
		},
		{
			name: "nulls as nix/default.nix passes them",
			in:   `{"name":"hello","tag":null,"mtime":null,"architecture":null,"config":{}}`,
			want: &Spec{Name: "hello", Config: json.RawMessage(`{}`)},
		},
		{name: "unknown field", in: `{"name":"hello","contens":[]}`, err: []string{"spec.json", `unknown field "contens"`}},
		{name: "wrong type", in: `{"name":"hello","uid":"0"}`, err: []string{"spec.json", "uid"}},
		{name: "not an object", in: `["hello"]`, err: []string{"spec.json"}},
		{name: "not JSON", in: `name = "hello";`, err: []string{"spec.json"}},
		{name: "empty", in: ``, err: []string{"spec.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSpec([]byte(tt.in), "spec.json")
			testutil.WantErr(t, err, tt.err...)
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseSpec\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestReference(t *testing.T) {
	tests := []struct {
		name, tag string
		noTag     bool
		want      string
		err       []string
	}{
		{name: "hello", tag: "v1", want: "hello:v1"},
		{name: "hello", noTag: true, want: "hello:deftag"},
		{name: "hello", tag: "", want: "hello:deftag"},
		{name: "Hello", tag: "V1", want: "hello:v1"},
		{name: "registry.example.com:5000/Team/App", tag: "1.2.3", want: "registry.example.com:5000/team/app:1.2.3"},
		{name: "hello world", tag: "v1", err: []string{`"hello world:v1"`, `name "hello world"`}},
		{name: "hello", tag: "v1:x", err: []string{`"hello:v1:x"`, `tag "v1:x"`}},
		{name: "hello", tag: "v/1", err: []string{`tag "v/1"`}},
		{name: "hello", tag: strings.Repeat("t", 129), err: []string{"invalid image reference"}},
		{name: "", tag: "v1", err: []string{"needs a name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name+":"+tt.tag, func(t *testing.T) {
			s := &Spec{Name: tt.name}
			if !tt.noTag {
				s.Tag = &tt.tag
			}
			ref, err := s.Reference("deftag")
			testutil.WantErr(t, err, tt.err...)
			if err == nil && ref.String() != tt.want {
				t.Errorf("Reference = %q, want %q", ref.String(), tt.want)
			}
		})
	}
}

func TestImageConfig(t *testing.T) {
	tests := []struct {
		name   string
		config string
		want   v1.Config
		err    []string
	}{
		{name: "absent", config: ``},
		{name: "null", config: `null`},
		{name: "empty", config: ` {} `},
		{
			name:   "full",
			config: `{"Cmd":["/bin/hello","-v"],"Entrypoint":["/bin/sh","-c"],"Env":["PATH=/bin","EMPTY="],"WorkingDir":"/srv","User":"1000:1000","ExposedPorts":{"80/tcp":{}},"Volumes":{"/data":{}},"Labels":{"a":"b"},"StopSignal":"SIGTERM"}`,
			want: v1.Config{Cmd: []string{"/bin/hello", "-v"}, Entrypoint: []string{"/bin/sh", "-c"}, Env: []string{"PATH=/bin", "EMPTY="}, WorkingDir: "/srv", User: "1000:1000",
				ExposedPorts: map[string]struct{}{"80/tcp": {}}, Volumes: map[string]struct{}{"/data": {}}, Labels: map[string]string{"a": "b"}, StopSignal: "SIGTERM"},
		},
		{name: "Cmd as a string", config: `{"Cmd":"/bin/hello"}`, err: []string{"config.Cmd", "list of strings", "string"}},
		{name: "Entrypoint as a string", config: `{"Entrypoint":"/bin/sh"}`, err: []string{"config.Entrypoint", "list of strings"}},
		{name: "Env as an attribute set", config: `{"Env":{"PATH":"/bin"}}`, err: []string{"config.Env", "list of strings"}},
		{name: "Env entry without =", config: `{"Env":["PATH=/bin","NOVALUE"]}`, err: []string{"config.Env[1]", `"NOVALUE"`, "NAME=value"}},
		{name: "Labels value a number", config: `{"Labels":{"a":1}}`, err: []string{"config.Labels"}},
		{name: "User a number", config: `{"User":1000}`, err: []string{"config.User", "a string"}},
		{name: "unknown field", config: `{"Cmd":["/bin/hello"],"Cmdd":["x"]}`, err: []string{"config", `"Cmdd"`}},
		{name: "a list", config: `["/bin/hello"]`, err: []string{"config must be an attribute set", `["/bin/hello"]`}},
		{name: "a string", config: `"/bin/hello"`, err: []string{"config must be an attribute set"}},
		{name: "a number", config: `42`, err: []string{"config must be an attribute set"}},
		{name: "truncated", config: `{"Cmd":[`, err: []string{"config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Spec{Name: "x", Config: json.RawMessage(tt.config)}
			got, err := s.ImageConfig()
			testutil.WantErr(t, err, tt.err...)
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ImageConfig\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestResolvePlatform(t *testing.T) {
	tests := []struct {
		arch, system string
		want         v1.Platform
		err          []string
	}{
		{arch: "", system: "", want: v1.Platform{Architecture: "amd64", OS: "linux"}},
		{arch: "", system: "x86_64-linux", want: v1.Platform{Architecture: "amd64", OS: "linux"}},
		{arch: "", system: "aarch64-linux", want: v1.Platform{Architecture: "arm64", Variant: "v8", OS: "linux"}},
		{arch: "aarch64-linux", system: "x86_64-linux", want: v1.Platform{Architecture: "arm64", Variant: "v8", OS: "linux"}},
		{arch: "armv7l-linux", want: v1.Platform{Architecture: "arm", Variant: "v7", OS: "linux"}},
		{arch: "amd64", system: "aarch64-linux", want: v1.Platform{Architecture: "amd64", OS: "linux"}},
		{arch: "arm64", want: v1.Platform{Architecture: "arm64", Variant: "v8", OS: "linux"}},
		{arch: "arm", want: v1.Platform{Architecture: "arm", Variant: "v7", OS: "linux"}},
		{arch: "arm/v6", want: v1.Platform{Architecture: "arm", Variant: "v6", OS: "linux"}},
		{arch: "386", want: v1.Platform{Architecture: "386", OS: "linux"}},
		{arch: "riscv64", want: v1.Platform{Architecture: "riscv64", OS: "linux"}},
		{arch: "x86_64", err: []string{`unknown architecture "x86_64"`, "amd64", "x86_64-linux"}},
		{arch: "sparc", err: []string{`unknown architecture "sparc"`}},
		{arch: "arm/v9", err: []string{`unknown architecture "arm/v9"`}},
		{arch: "", system: "x86_64-freebsd", err: []string{`unknown Nix system "x86_64-freebsd"`, "x86_64-linux"}},
	}
	for _, tt := range tests {
		t.Run(tt.arch+"|"+tt.system, func(t *testing.T) {
			for i := 0; i < 5; i++ { // the table is a map: the answer must not depend on its order
				got, err := ResolvePlatform(tt.arch, tt.system)
				testutil.WantErr(t, err, tt.err...)
				if err == nil && !got.Equals(tt.want) {
					t.Fatalf("ResolvePlatform(%q, %q) = %+v, want %+v", tt.arch, tt.system, got, tt.want)
				}
			}
		})
	}
}

func TestCreatedTime(t *testing.T) {
	now := time.Date(2024, 5, 6, 7, 8, 9, 500, time.FixedZone("CEST", 2*3600))
	tests := []struct {
		created string
		want    time.Time
		err     []string
	}{
		{created: "", want: time.Unix(1, 0).UTC()},
		{created: "1970-01-01T00:00:01Z", want: time.Unix(1, 0).UTC()},
		{created: "2023-11-14T22:13:20+01:00", want: time.Date(2023, 11, 14, 21, 13, 20, 0, time.UTC)},
		{created: "now", want: time.Date(2024, 5, 6, 5, 8, 9, 0, time.UTC)},
		{created: "yesterday", err: []string{`created = "yesterday"`, "RFC 3339", `"now"`}},
		{created: "2023-11-14", err: []string{`created = "2023-11-14"`}},
		{created: "Now", err: []string{`created = "Now"`}},
	}
	for _, tt := range tests {
		t.Run(tt.created, func(t *testing.T) {
			s := &Spec{Created: tt.created}
			got, err := s.CreatedTime(func() time.Time { return now })
			testutil.WantErr(t, err, tt.err...)
			if err == nil && (!got.Equal(tt.want) || got.Location() != time.UTC) {
				t.Errorf("CreatedTime = %v, want %v (UTC)", got, tt.want)
			}
		})
	}
}

func TestLayerTime(t *testing.T) {
	tests := []struct {
		name  string
		sde   string
		mtime *Timestamp
		want  int64
		err   []string
	}{
		{name: "default", want: 1},
		{name: "mtime", mtime: ptr(Timestamp("1700000000")), want: 1700000000},
		{name: "mtime 0", mtime: ptr(Timestamp("0")), want: 0},
		{name: "SOURCE_DATE_EPOCH", sde: "1234", want: 1234},
		{name: "SOURCE_DATE_EPOCH wins over mtime", sde: "1234", mtime: ptr(Timestamp("99")), want: 1234},
		{name: "SOURCE_DATE_EPOCH 0", sde: "0", mtime: ptr(Timestamp("99")), want: 0},
		{name: "SOURCE_DATE_EPOCH not a number", sde: "yesterday", err: []string{`SOURCE_DATE_EPOCH = "yesterday"`}},
		{name: "SOURCE_DATE_EPOCH with trailing junk", sde: "12abc", err: []string{`SOURCE_DATE_EPOCH = "12abc"`}},
		{name: "SOURCE_DATE_EPOCH fractional", sde: "1.5", err: []string{`SOURCE_DATE_EPOCH = "1.5"`}},
		{name: "SOURCE_DATE_EPOCH negative", sde: "-1", err: []string{`SOURCE_DATE_EPOCH = "-1"`}},
		{name: "negative mtime", mtime: ptr(Timestamp("-5")), err: []string{"mtime = -5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Spec{MTime: tt.mtime}
			got, err := s.LayerTime(tt.sde)
			testutil.WantErr(t, err, tt.err...)
			if err == nil && (got.Unix() != tt.want || got.Nanosecond() != 0) {
				t.Errorf("LayerTime = %v, want %d", got, tt.want)
			}
		})
	}
}

func TestParseCompression(t *testing.T) {
	tests := []struct {
		in              string
		want            layers.Compression
		docker, ociType types.MediaType
		err             []string
	}{
		{in: "", err: []string{`unknown compression ""`}}, // the default is Resolve's (DefaultCompression), not the parser's
		{in: "gzip", want: layers.Gzip, docker: types.DockerLayer, ociType: types.OCILayer},
		{in: "zstd", want: layers.Zstd, docker: types.OCILayerZStd, ociType: types.OCILayerZStd},
		{in: "none", want: layers.None, docker: types.DockerUncompressedLayer, ociType: types.OCIUncompressedLayer},
		{in: "xz", err: []string{`unknown compression "xz"`, "gzip, zstd or none"}},
		{in: "pigz", err: []string{`unknown compression "pigz"`}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := compression.Parse(tt.in)
			testutil.WantErr(t, err, tt.err...)
			if err != nil {
				return
			}
			if got != tt.want || got.MediaType(false) != tt.docker || got.MediaType(true) != tt.ociType {
				t.Errorf("ParseCompression(%q) = %q with media types %s / %s; want %q, %s / %s",
					tt.in, got, got.MediaType(false), got.MediaType(true), tt.want, tt.docker, tt.ociType)
			}
		})
	}
}

// FuzzSpec: no input makes the spec parser or the config decoder panic,
// and a config that decodes has only NAME=value environment entries.
func FuzzSpec(f *testing.F) {
	f.Add([]byte(`{"name":"hello","tag":"v1","config":{"Cmd":["/bin/hello"],"Env":["A=b"]}}`))
	f.Add([]byte(`{"name":"hello","config":{"Cmd":"/bin/hello"}}`))
	f.Add([]byte(`{"name":"hello","config":["x"]}`))
	f.Add([]byte(`{"name":"hello","config":{"ExposedPorts":{"80/tcp":{}},"Labels":{"a":1}}}`))
	f.Add([]byte(`{"name":"Hello World","tag":"v1:x","created":"now","mtime":-1,"architecture":"arm/v7"}`))
	f.Add([]byte(`{"name":"a","sbom":[{"path":"/nix/store/x","license":"MIT"},{"name":"v"}],"sbomMeta":{"/nix/store/x":{"homepage":"h"}}}`))
	f.Add([]byte(`{"name":"a","sbom":false}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(data, "fuzz")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz") {
				t.Errorf("error %q does not name the input", err)
			}
			return
		}
		cfg, err := s.ImageConfig()
		if err == nil {
			for _, e := range cfg.Env {
				if !strings.Contains(e, "=") {
					t.Errorf("accepted Env entry %q", e)
				}
			}
		}
		s.Reference("latest")
		s.CreatedTime(time.Now)
		s.LayerTime("")
		ResolvePlatform(s.Architecture, s.System)
		if set, err := Resolve(s, Env{DefaultTag: "latest"}); err == nil && string(s.SBOM) == "false" && set.SBOM != nil {
			t.Errorf("sbom = false resolved to %+v", set.SBOM)
		}
	})
}
