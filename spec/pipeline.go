package spec

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/nixlayer/nixlayer/internal/regularfile"
	"github.com/nixlayer/nixlayer/layering"
)

// resolvePipeline parses the layeringPipeline argument into set.Pipeline
// and makes "pipeline" the layering: a list of steps, or (as nixpkgs takes
// it) a string naming a JSON file that holds one, such as a derivation's
// output. layering may be absent or "pipeline" beside it; an image of a
// set (buildImageSet plans the set's layers together) takes none.
func resolvePipeline(s *Spec, set *Settings) error {
	raw := bytes.TrimSpace(s.LayeringPipeline)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		if s.Layering == layering.PipelineStrategy {
			return fmt.Errorf("layering = %q needs a layeringPipeline", s.Layering)
		}
		return nil
	}
	if s.Layering != "" && s.Layering != layering.PipelineStrategy {
		return fmt.Errorf("layering = %q and layeringPipeline are both given: give one (the pipeline decides the layers; layering = %q goes with it)", s.Layering, layering.PipelineStrategy)
	}
	if s.ImageSet != nil {
		return fmt.Errorf("layeringPipeline is not for an image of a set: buildImageSet plans the layers of its images together (README, \"Sets of images\")")
	}
	var file string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &file); err != nil {
			return fmt.Errorf("layeringPipeline: %w", err)
		}
		data, err := regularfile.ReadAll(file, layering.MaxPipelineBytes, false)
		if err != nil {
			return fmt.Errorf("layeringPipeline: reading the pipeline from %s: %w", file, err)
		}
		raw = data
	}
	p, err := layering.ParsePipeline(raw)
	if err != nil {
		if file != "" {
			return fmt.Errorf("%s (read from %s)", err, file)
		}
		return err
	}
	set.Layering, set.Pipeline = layering.PipelineStrategy, p
	return nil
}
