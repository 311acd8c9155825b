package spec

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
	"github.com/nixlayer/nixlayer/layering"
)

// TestResolvePipeline: a layeringPipeline given as a list or as the name of
// a JSON file makes the layering "pipeline"; a file that is not a regular
// file, too large, or holds a bad pipeline is an error naming it.
func TestResolvePipeline(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "pipeline.json")
	os.WriteFile(good, []byte(`[["popularity_contest"], ["limit_layers", 4]]`), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`[["popularity_contest"], ["limit_layers", 0]]`), 0o644)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.json")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(1 << 30) // sparse
	f.Close()
	for _, tc := range []struct {
		name, pipeline string
		want           []string
	}{
		{"list", `[["popularity_contest"], ["limit_layers", 4]]`, nil},
		{"file", strconv.Quote(good), nil},
		{"layering pipeline too", `[["popularity_contest"]]`, nil},
		{"bad file", strconv.Quote(bad), []string{"layeringPipeline: step 1 (limit_layers): the count 0 must be at least 1", "(read from " + bad + ")"}},
		{"fifo", strconv.Quote(fifo), []string{"reading the pipeline from " + fifo, "FIFO"}},
		{"sparse 1 GiB", strconv.Quote(big), []string{"reading the pipeline from " + big, "over the 16777216 byte limit"}},
		{"directory", strconv.Quote(dir), []string{"reading the pipeline from " + dir}},
		{"device", `"/dev/zero"`, []string{"reading the pipeline from /dev/zero"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			layeringArg := ""
			if tc.name == "layering pipeline too" {
				layeringArg = `"layering":"pipeline",`
			}
			s, err := ParseSpec([]byte(`{"name":"a","layered":true,`+layeringArg+`"layeringPipeline":`+tc.pipeline+`}`), "test")
			if err != nil {
				t.Fatal(err)
			}
			set, err := Resolve(s, Env{DefaultTag: "latest"})
			if tc.want != nil {
				testutil.WantErr(t, err, tc.want...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if set.Layering != layering.PipelineStrategy || set.Pipeline == nil {
				t.Errorf("layering %q, pipeline %v", set.Layering, set.Pipeline)
			}
		})
	}
}

// TestResolveLayerNoPipeline: buildLayer has no layeringPipeline, so
// layering "pipeline" is an error there.
func TestResolveLayerNoPipeline(t *testing.T) {
	s, err := ParseLayerSpec([]byte(`{"layering":"pipeline"}`), "test")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ResolveLayer(s, "")
	testutil.WantErr(t, err, `layering = "pipeline": buildLayer takes no layeringPipeline`)
}
