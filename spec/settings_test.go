package spec

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nixlayer/nixlayer/customize"
	imgformat "github.com/nixlayer/nixlayer/format"
	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/layering"
	"github.com/nixlayer/nixlayer/layers"
)

// TestResolveDefaults: a spec with only a name (as each Nix function or the
// command line passes it) resolves to fully defaulted settings.
func TestResolveDefaults(t *testing.T) {
	now := func() time.Time { return time.Unix(1700000000, 0) }
	env := Env{DefaultTag: "outhash", Now: now, TempDir: "/tmp/x"}
	base := func(edit func(*Settings)) Settings {
		s := Settings{
			Platform:     v1.Platform{Architecture: "amd64", OS: "linux"},
			Created:      time.Unix(1, 0).UTC(),
			MTime:        time.Unix(1, 0).UTC(),
			Format:       imgformat.DockerArchive,
			Compression:  layers.Gzip,
			ContentsMode: layers.CopyFollowDirlinks, // buildImage copies as dockerTools (rsync -k)
			Layering:     layering.NoLayering,
			MaxLayers:    layering.DefaultMaxLayers,
			TempDir:      "/tmp/x",
			// includeStorePaths defaults to true
			IncludeStorePaths: true,
			SBOM:              &SBOM{},
		}
		if edit != nil {
			edit(&s)
		}
		return s
	}
	tests := []struct {
		name string
		spec string
		env  func(*Env)
		want Settings
	}{
		{name: "command line", spec: `{"name":"App"}`, want: base(nil)},
		{name: "buildImage", spec: `{"name":"App","function":"buildImage","layered":false}`, want: base(nil)},
		{name: "buildLayeredImage", spec: `{"name":"App","function":"buildLayeredImage","layered":true}`, want: base(func(s *Settings) {
			s.Layering, s.ContentsMode = layering.DefaultStrategy, layers.Link
		})},
		{name: "streamLayeredImage", spec: `{"name":"App","function":"streamLayeredImage","layered":true,"stream":true}`, want: base(func(s *Settings) {
			s.Layering, s.ContentsMode, s.Stream, s.Compression = layering.DefaultStrategy, layers.Link, true, layers.None
		})},
		{name: "stream compressed", spec: `{"name":"App","stream":true,"compression":"zstd"}`, want: base(func(s *Settings) {
			s.Stream, s.Compression = true, layers.Zstd
		})},
		{name: "nulls are defaults", spec: `{"name":"App","tag":null,"created":null,"mtime":null,"maxLayers":null,"layering":null,"compression":null,"format":null}`, want: base(nil)},
		{name: "SOURCE_DATE_EPOCH", spec: `{"name":"App","mtime":5}`, env: func(e *Env) { e.SourceDateEpoch = "7" }, want: base(func(s *Settings) {
			s.MTime = time.Unix(7, 0).UTC()
		})},
		{name: "created now", spec: `{"name":"App","created":"now"}`, want: base(func(s *Settings) { s.Created = now().UTC() })},
		{name: "Nix DB as root", spec: `{"name":"App","includeNixDB":true}`, want: base(func(s *Settings) {
			s.NixDB = &NixDB{Uname: "root", Gname: "root"}
		})},
		{name: "Nix DB of a user", spec: `{"name":"App","includeNixDB":true,"nixUid":1000,"nixGid":100}`, want: base(func(s *Settings) {
			s.NixDB = &NixDB{Uid: 1000, Gid: 100, Uname: "nix", Gname: "nix"}
		})},
		{name: "Nix DB named", spec: `{"name":"App","includeNixDB":true,"nixUid":1000,"nixUname":"alice","nixGname":"staff"}`, want: base(func(s *Settings) {
			s.NixDB = &NixDB{Uid: 1000, Uname: "alice", Gname: "staff"}
		})},
		{name: "everything given", spec: `{"name":"App","tag":"V1","contents":["/nix/store/x"],"config":{"User":"app"},"created":"2024-01-02T03:04:05Z","mtime":9,"uid":1,"gid":2,"architecture":"arm64","format":"oci-layout","compression":"zstd","layering":"size","maxLayers":9,"fromImage":"/b.tar","fromImageTag":"t","users":[]}`,
			want: base(func(s *Settings) {
				s.Contents, s.Config.User = []string{"/nix/store/x"}, "app"
				s.Created, s.MTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), time.Unix(9, 0).UTC()
				s.Uid, s.Gid = 1, 2
				s.Platform = v1.Platform{Architecture: "arm64", Variant: "v8", OS: "linux"}
				s.Format, s.Compression, s.Layering, s.ContentsMode, s.MaxLayers = imgformat.OCILayout, layers.Zstd, "size", layers.Link, 9
				s.Base = &BaseRef{Path: "/b.tar", Tag: "t"}
				s.Customize = customize.Spec{Users: []customize.User{}}
			})},
		// dockerTools' forms of the arguments.
		{name: "compressor gz", spec: `{"name":"App","compressor":"gz"}`, want: base(nil)},
		{name: "compressor zstd", spec: `{"name":"App","compressor":"zstd","compression":"zstd"}`, want: base(func(s *Settings) { s.Compression = layers.Zstd })},
		{name: "compressor none", spec: `{"name":"App","compressor":"none"}`, want: base(func(s *Settings) { s.Compression = layers.None })},
		{name: "mtime ISO-8601", spec: `{"name":"App","mtime":"2024-01-02T03:04:05Z"}`, want: base(func(s *Settings) {
			s.MTime = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		})},
		{name: "mtime ISO-8601 with offset", spec: `{"name":"App","mtime":"2024-01-02T03:04:05+02:00"}`, want: base(func(s *Settings) {
			s.MTime = time.Date(2024, 1, 2, 1, 4, 5, 0, time.UTC)
		})},
		{name: "mtime date", spec: `{"name":"App","mtime":"2024-01-02"}`, want: base(func(s *Settings) {
			s.MTime = time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
		})},
		{name: "mtime seconds as a string", spec: `{"name":"App","mtime":"42"}`, want: base(func(s *Settings) { s.MTime = time.Unix(42, 0).UTC() })},
		{name: "mtime now", spec: `{"name":"App","mtime":"now"}`, want: base(func(s *Settings) { s.MTime = now().UTC() })},
		{name: "uname gname variant", spec: `{"name":"App","uname":"app","gname":"staff","architecture":"arm","variant":"v6"}`, want: base(func(s *Settings) {
			s.Uname, s.Gname = ptr("app"), ptr("staff")
			s.Platform = v1.Platform{Architecture: "arm", Variant: "v6", OS: "linux"}
		})},
		{name: "includeStorePaths false", spec: `{"name":"App","includeStorePaths":false,"references":"/nix/store/r"}`, want: base(func(s *Settings) {
			s.IncludeStorePaths, s.References = false, "/nix/store/r"
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := ParseSpec([]byte(tt.spec), "test")
			if err != nil {
				t.Fatal(err)
			}
			e := env
			if tt.env != nil {
				tt.env(&e)
			}
			got, err := Resolve(spec, e)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			ref := "app:outhash"
			if spec.Tag != nil {
				ref = "app:v1"
			}
			if got.Ref.String() != ref {
				t.Errorf("Ref = %s, want %s", got.Ref, ref)
			}
			want.Ref = got.Ref
			// The provenance's parameters are the spec given (checked by
			// TestResolveProvenance).
			if got.Provenance == nil || !json.Valid(got.Provenance.Parameters) {
				t.Errorf("Provenance = %+v, want the spec given", got.Provenance)
			}
			want.Provenance = got.Provenance
			// The default annotations: TestResolveAnnotations.
			if got.Annotations[AnnotationCreated] != got.Created.UTC().Format(time.RFC3339) {
				t.Errorf("Annotations = %v, want the defaults", got.Annotations)
			}
			want.Annotations = got.Annotations
			if !reflect.DeepEqual(*got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Errorf("Resolve\n got %s\nwant %s", g, w)
			}
		})
	}
}

// TestResolveErrors: each bad option is an error naming it, and the Nix
// function when the spec names one.
func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name, spec string
		want       []string
	}{
		{"no name", `{}`, []string{"the image needs a name"}},
		{"maxLayers 1", `{"name":"a","maxLayers":1}`, []string{"maxLayers = 1: it must be between 2 and 127", "maxLayers 1 is too small", "at least 2"}},
		{"maxLayers 0", `{"name":"a","maxLayers":0}`, []string{"maxLayers = 0: it must be between 2 and 127"}},
		{"maxLayers 128 in Nix", `{"name":"a","function":"streamLayeredImage","layered":true,"maxLayers":128}`, []string{"nixlayer.streamLayeredImage: maxLayers = 128: it must be between 2 and 127"}},
		{"unknown layering", `{"name":"a","layering":"random"}`, []string{`unknown layering strategy "random"`, "auto, none, pipeline, popularity, set, size"}},
		{"unknown format", `{"name":"a","format":"tar"}`, []string{`unknown format "tar"`}},
		{"unknown compression", `{"name":"a","compression":"xz"}`, []string{`unknown compression "xz"`}},
		{"stream of a layout", `{"name":"a","stream":true,"format":"oci-layout"}`, []string{"cannot be streamed"}},
		{"negative uid", `{"name":"a","uid":-1}`, []string{"uid -1"}},
		{"negative nixUid", `{"name":"a","includeNixDB":true,"nixUid":-2}`, []string{"nixUid -2"}},
		{"base name without base", `{"name":"a","fromImageName":"x"}`, []string{"without fromImage"}},
		{"bad created", `{"name":"a","created":"yesterday"}`, []string{`created = "yesterday"`}},
		{"config", `{"name":"a","config":{"Cmd":"x"}}`, []string{"config.Cmd must be a list of strings"}},
		{"unknown compressor", `{"name":"a","compressor":"xz"}`, []string{`unknown compressor "xz": use gz, zstd or none`}},
		{"compressor disagrees", `{"name":"a","compressor":"gz","compression":"zstd"}`, []string{`compression = "zstd" and compressor = "gz" disagree`}},
		{"mtime not a date", `{"name":"a","mtime":"yesterday"}`, []string{`mtime = "yesterday" is not a number of seconds, an ISO-8601 date`}},
		{"mtime negative string", `{"name":"a","mtime":"-3"}`, []string{"mtime = -3 is negative"}},
		{"mtime before 1970", `{"name":"a","mtime":"1960-01-01"}`, []string{`mtime = "1960-01-01" is before 1970`}},
		{"mtime fractional", `{"name":"a","mtime":1.5}`, []string{`mtime = "1.5"`}},
		{"keepContentsDirlinks of linked contents", `{"name":"a","layered":true,"keepContentsDirlinks":true}`, []string{"keepContentsDirlinks = true: the contents are linked, not copied"}},
		{"both root scripts", `{"name":"a","runAsRoot":"true","fakeRootCommands":"true"}`, []string{"runAsRoot and fakeRootCommands are both given"}},
		{"runAsRoot of a layered image", `{"name":"a","function":"buildLayeredImage","layered":true,"runAsRoot":"true"}`, []string{"nixlayer.buildLayeredImage: runAsRoot is buildImage's; the layered builders take fakeRootCommands"}},
		{"set layering alone", `{"name":"a","layered":true,"layering":"set"}`, []string{`layering "set" plans the images of a set together: build them with nl.buildImageSet`}},
		{"set without images", `{"name":"a","layered":true,"imageSet":{"member":"a","members":{}}}`, []string{"imageSet: the set has no image"}},
		{"set without the member", `{"name":"a","layered":true,"imageSet":{"member":"c","members":{"a":{"roots":[]},"b":{"roots":[]}}}}`, []string{`member "c" is not one of the set's images (a, b)`}},
		{"set budget", `{"name":"a","layered":true,"maxLayers":3,"imageSet":{"member":"a","members":{"a":{"roots":[]},"b":{"roots":[],"reserved":4}}}}`,
			[]string{"maxLayers = 3 leaves image b no layer for store paths", "the smallest maxLayers that works for this set is 6"}},
		{"pipeline and layering", `{"name":"a","layered":true,"layering":"size","layeringPipeline":[["popularity_contest"]]}`, []string{`layering = "size" and layeringPipeline are both given: give one`}},
		{"pipeline layering alone", `{"name":"a","layered":true,"layering":"pipeline"}`, []string{`layering = "pipeline" needs a layeringPipeline`}},
		{"pipeline in a set", `{"name":"a","layered":true,"layeringPipeline":[["popularity_contest"]],"imageSet":{"member":"a","members":{"a":{"roots":[]}}}}`, []string{"layeringPipeline is not for an image of a set"}},
		{"bad pipeline", `{"name":"a","function":"buildLayeredImage","layered":true,"layeringPipeline":[["popularity_contest"],["limit_layers",-2]]}`, []string{"nixlayer.buildLayeredImage: layeringPipeline: step 1 (limit_layers): the count -2 must be at least 1"}},
		{"pipeline file absent", `{"name":"a","layered":true,"layeringPipeline":"/nonexistent/pipeline.json"}`, []string{"layeringPipeline: reading the pipeline from /nonexistent/pipeline.json"}},
		{"fakeRootCommands of buildImage", `{"name":"a","function":"buildImage","layered":false,"fakeRootCommands":"true"}`, []string{"nixlayer.buildImage: fakeRootCommands is the layered builders'; buildImage takes runAsRoot"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := ParseSpec([]byte(tt.spec), "test")
			if err != nil {
				t.Fatal(err)
			}
			_, err = Resolve(spec, Env{DefaultTag: "latest"})
			testutil.WantErr(t, err, tt.want...)
		})
	}
}

// TestResolveProvenance: the provenance records the arguments given (no
// field left at its zero value, never the default tag) unless provenance
// is false.
func TestResolveProvenance(t *testing.T) {
	env := Env{DefaultTag: "outputhash", Version: "1.0"}
	for _, tc := range []struct{ name, spec, want string }{
		{"defaults", `{"name":"App"}`, `{"name":"App"}`},
		{"given", `{"name":"App","tag":"v1","maxLayers":null,"contents":["/nix/store/x"],"uid":0,"compression":"zstd"}`, `{"compression":"zstd","contents":["/nix/store/x"],"name":"App","tag":"v1"}`},
		{"off", `{"name":"App","provenance":false}`, ""},
		{"on", `{"name":"App","provenance":true}`, `{"name":"App","provenance":true}`},
		{"stream", `{"name":"App","function":"streamLayeredImage","layered":true,"stream":true}`, `{"layered":true,"name":"App"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSpec([]byte(tc.spec), "test")
			if err != nil {
				t.Fatal(err)
			}
			set, err := Resolve(s, env)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.want == "" && set.Provenance != nil:
				t.Errorf("Provenance = %s, want none", set.Provenance.Parameters)
			case tc.want != "" && (set.Provenance == nil || string(set.Provenance.Parameters) != tc.want || set.Provenance.Version != "1.0"):
				t.Errorf("Provenance = %+v, want parameters %s", set.Provenance, tc.want)
			}
		})
	}
}

// TestResolveAnnotations: the defaults (title, created, a given tag as
// the version) unless the argument is false; the user's over them, null
// removing one.
func TestResolveAnnotations(t *testing.T) {
	env := Env{DefaultTag: "outputhash"}
	const created = "1970-01-01T00:00:01Z"
	for _, tc := range []struct {
		name, spec  string
		want        map[string]string
		wantRemoved []string
	}{
		{"absent", `{"name":"App"}`, map[string]string{AnnotationTitle: "app", AnnotationCreated: created}, nil},
		{"null", `{"name":"App","annotations":null}`, map[string]string{AnnotationTitle: "app", AnnotationCreated: created}, nil},
		{"true", `{"name":"App","annotations":true}`, map[string]string{AnnotationTitle: "app", AnnotationCreated: created}, nil},
		{"false", `{"name":"App","tag":"v2","annotations":false}`, nil, nil},
		{"empty", `{"name":"App","annotations":{}}`, map[string]string{AnnotationTitle: "app", AnnotationCreated: created}, nil},
		{"tag and created", `{"name":"App","tag":"V2","created":"2024-01-02T03:04:05Z","annotations":{"a":"b"}}`,
			map[string]string{AnnotationTitle: "app", AnnotationCreated: "2024-01-02T03:04:05Z", AnnotationVersion: "v2", "a": "b"}, nil},
		{"user wins", `{"name":"App","tag":"v2","annotations":{"org.opencontainers.image.version":"2.0.1"}}`,
			map[string]string{AnnotationTitle: "app", AnnotationCreated: created, AnnotationVersion: "2.0.1"}, nil},
		{"null removes", `{"name":"App","tag":"v2","annotations":{"org.opencontainers.image.created":null,"org.opencontainers.image.base.name":null,"x":"y"}}`,
			map[string]string{AnnotationTitle: "app", AnnotationVersion: "v2", "x": "y"}, []string{AnnotationBaseName, AnnotationCreated}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSpec([]byte(tc.spec), "test")
			if err != nil {
				t.Fatal(err)
			}
			set, err := Resolve(s, env)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(set.Annotations, tc.want) {
				t.Errorf("Annotations = %v, want %v", set.Annotations, tc.want)
			}
			if !reflect.DeepEqual(set.AnnotationsRemoved, tc.wantRemoved) {
				t.Errorf("AnnotationsRemoved = %v, want %v", set.AnnotationsRemoved, tc.wantRemoved)
			}
			if _, ok := set.Annotations[AnnotationVersion]; ok && s.Tag == nil {
				t.Errorf("the default tag %q became the version", env.DefaultTag)
			}
		})
	}
	for _, bad := range []string{`{"":"x"}`, `"x"`, `["a"]`, `{"a":1}`, `{"a":{"b":"c"}}`} {
		if _, err := Resolve(&Spec{Name: "a", Annotations: json.RawMessage(bad)}, env); err == nil {
			t.Errorf("annotations %s accepted", bad)
		} else if !strings.Contains(err.Error(), "annotation") {
			t.Errorf("annotations %s: the error does not name the argument: %v", bad, err)
		}
	}
}
