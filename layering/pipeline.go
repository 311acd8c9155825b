package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// PipelineStrategy is the strategy of a layeringPipeline: it needs
// Input.Pipeline.
const PipelineStrategy = "pipeline"

func init() {
	Register(PipelineStrategy, pipelineStrategy)
	stepKinds = stepKindTable()
}

// Limits of a layeringPipeline, checked when it is parsed: a pipeline
// beyond them is an error, not a slow build.
const (
	// MaxPipelineBytes bounds the pipeline's JSON (or the file holding it).
	MaxPipelineBytes = 16 << 20
	// MaxPipelineSteps bounds the steps of a pipeline, nested ones included.
	MaxPipelineSteps = 1000
	// MaxPipelineDepth bounds the nesting of steps (over, map, pipe).
	MaxPipelineDepth = 32
)

// Pipeline is a parsed layeringPipeline: nixpkgs' steps over the closure
// graph (pkgs/build-support/flatten-references-graph), run by Run.
type Pipeline struct {
	steps []*step
}

// step is one step of a pipeline, its arguments checked.
type step struct {
	name  string
	loc   string   // where it is, for errors: "step 2 (over) > pipe step 0 (limit_layers)"
	paths []string // remove_paths, subcomponent_in, subcomponent_out
	split []splitSpec
	count int     // limit_layers, split_every
	key   string  // over
	sub   *step   // over, map
	steps []*step // pipe
}

// splitSpec is one entry of split_paths: a store path, or the direct
// references of the store paths childrenOf.
type splitSpec struct {
	path       string
	childrenOf []string
}

// stepArgs describes a step's arguments for parsing; the parse function
// fills s from args (the JSON values after the name) or says what is wrong.
type stepArgs struct {
	n     int
	usage string
	parse func(p *pipelineParser, s *step, args []any, depth int) error
}

// stepKinds are the steps by name (set by init: their parsers parse
// nested steps, which look here).
var stepKinds map[string]stepArgs

func stepKindTable() map[string]stepArgs {
	return map[string]stepArgs{
		"popularity_contest": {0, `["popularity_contest"]`, nil},
		"flatten":            {0, `["flatten"]`, nil},
		"reverse":            {0, `["reverse"]`, nil},
		"limit_layers":       {1, `["limit_layers", N] with N >= 1`, parseCount},
		"split_every":        {1, `["split_every", N] with N >= 1`, parseCount},
		"remove_paths":       {1, `["remove_paths", PATHS] (a store path or a list of them)`, parseRemovePaths},
		"subcomponent_in":    {1, `["subcomponent_in", [ PATH ... ]]`, parsePathList},
		"subcomponent_out":   {1, `["subcomponent_out", [ PATH ... ]]`, parsePathList},
		"split_paths":        {1, `["split_paths", [ PATH or { children_of = PATH or [ PATH ... ]; } ... ]]`, parseSplitPaths},
		"over":               {2, `["over", "main" | "common" | "rest", STEP]`, parseOver},
		"map":                {1, `["map", STEP]`, parseMap},
		"pipe":               {1, `["pipe", [ STEP ... ]]`, parsePipe},
	}
}

// PipelineStepNames returns the step names a pipeline may use, sorted.
func PipelineStepNames() []string {
	names := make([]string, 0, len(stepKinds))
	for n := range stepKinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParsePipeline reads a layeringPipeline from its JSON: a list of steps,
// each a list of a step name and its arguments, as nixpkgs' dockerTools
// takes it. Every step and argument is checked here, before anything is
// built; an error names the step by its place in the pipeline.
func ParsePipeline(data []byte) (*Pipeline, error) {
	if len(data) > MaxPipelineBytes {
		return nil, fmt.Errorf("layeringPipeline: %d bytes of JSON, more than the %d a pipeline may have", len(data), MaxPipelineBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("layeringPipeline: not JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("layeringPipeline: more than one JSON value")
	}
	p := &pipelineParser{}
	steps, err := p.list(v, "", 0)
	if err != nil {
		return nil, fmt.Errorf("layeringPipeline: %w", err)
	}
	if len(steps) == 0 {
		return nil, errors.New("layeringPipeline: the pipeline is empty: it needs at least one step that splits the closure (e.g. [\"popularity_contest\"])")
	}
	return &Pipeline{steps: steps}, nil
}

type pipelineParser struct {
	count int
}

// list parses a list of steps at loc (a prefix for their places).
func (p *pipelineParser) list(v any, loc string, depth int) ([]*step, error) {
	raw, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%sa pipeline is a list of steps, not %s", locPrefix(loc), describe(v))
	}
	out := make([]*step, 0, len(raw))
	for i, r := range raw {
		s, err := p.step(r, fmt.Sprintf("%sstep %d", loc, i), depth)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func locPrefix(loc string) string {
	if loc == "" {
		return ""
	}
	return strings.TrimSuffix(loc, " > ") + ": "
}

// step parses one step, [name, args...], at loc.
func (p *pipelineParser) step(v any, loc string, depth int) (*step, error) {
	if depth >= MaxPipelineDepth {
		return nil, fmt.Errorf("%s: steps nested more than %d deep", loc, MaxPipelineDepth)
	}
	if p.count++; p.count > MaxPipelineSteps {
		return nil, fmt.Errorf("%s: more than %d steps", loc, MaxPipelineSteps)
	}
	raw, ok := v.([]any)
	if !ok || len(raw) == 0 {
		return nil, fmt.Errorf("%s: a step is a list [ NAME ARGS... ], not %s", loc, describe(v))
	}
	name, ok := raw[0].(string)
	if !ok {
		return nil, fmt.Errorf("%s: a step starts with its name (a string), not %s", loc, describe(raw[0]))
	}
	kind, ok := stepKinds[name]
	if !ok {
		return nil, fmt.Errorf("%s: unknown step %q (valid: %s)", loc, name, strings.Join(PipelineStepNames(), ", "))
	}
	loc = fmt.Sprintf("%s (%s)", loc, name)
	s := &step{name: name, loc: loc}
	args := raw[1:]
	if len(args) != kind.n {
		return nil, fmt.Errorf("%s: %d arguments, %s takes %d: %s", loc, len(args), name, kind.n, kind.usage)
	}
	if kind.parse != nil {
		if err := kind.parse(p, s, args, depth); err != nil {
			var in nestedError
			if errors.As(err, &in) {
				return nil, in.err // it names its own place
			}
			return nil, fmt.Errorf("%s: %w (usage: %s)", loc, err, kind.usage)
		}
	}
	return s, nil
}

// nestedError is the error of a step nested in another (over, map,
// pipe), which already names its place.
type nestedError struct{ err error }

func (e nestedError) Error() string { return e.err.Error() }

func nested(err error) error {
	if err == nil {
		return nil
	}
	return nestedError{err}
}

func parseCount(_ *pipelineParser, s *step, args []any, _ int) error {
	num, ok := args[0].(json.Number)
	if !ok {
		return fmt.Errorf("the count is %s, not a number", describe(args[0]))
	}
	n, err := num.Int64()
	if err != nil {
		return fmt.Errorf("the count %s is not a whole number", num)
	}
	if n < 1 {
		return fmt.Errorf("the count %d must be at least 1", n)
	}
	if n > 1<<31 {
		return fmt.Errorf("the count %d is too large", n)
	}
	s.count = int(n)
	return nil
}

// parseRemovePaths takes a store path or a list of them, as nixpkgs does.
func parseRemovePaths(p *pipelineParser, s *step, args []any, depth int) error {
	if str, ok := args[0].(string); ok {
		s.paths = []string{str}
		return nil
	}
	return parsePathList(p, s, args, depth)
}

func parsePathList(_ *pipelineParser, s *step, args []any, _ int) error {
	paths, err := stringList(args[0], "the store paths")
	s.paths = paths
	return err
}

// stringList reads a list of strings (what names the list in errors).
func stringList(v any, what string) ([]string, error) {
	raw, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s are %s, not a list of strings", what, describe(v))
	}
	out := make([]string, len(raw))
	for i, r := range raw {
		str, ok := r.(string)
		if !ok {
			return nil, fmt.Errorf("%s: item %d is %s, not a string", what, i, describe(r))
		}
		out[i] = str
	}
	return out, nil
}

func parseSplitPaths(_ *pipelineParser, s *step, args []any, _ int) error {
	raw, ok := args[0].([]any)
	if !ok {
		return fmt.Errorf("the split paths are %s, not a list", describe(args[0]))
	}
	for i, r := range raw {
		switch x := r.(type) {
		case string:
			s.split = append(s.split, splitSpec{path: x})
		case map[string]any:
			c, ok := x["children_of"]
			if !ok || len(x) != 1 {
				return fmt.Errorf("split path %d: an attribute set takes exactly one attribute, children_of", i)
			}
			var names []string
			if str, ok := c.(string); ok {
				names = []string{str}
			} else {
				var err error
				if names, err = stringList(c, fmt.Sprintf("split path %d: children_of", i)); err != nil {
					return err
				}
			}
			s.split = append(s.split, splitSpec{childrenOf: names})
		default:
			return fmt.Errorf("split path %d is %s, not a store path or { children_of = ...; }", i, describe(r))
		}
	}
	return nil
}

func parseOver(p *pipelineParser, s *step, args []any, depth int) error {
	key, ok := args[0].(string)
	if !ok {
		return fmt.Errorf("the key is %s, not a string", describe(args[0]))
	}
	s.key = key
	sub, err := p.step(args[1], s.loc+" > step", depth+1)
	s.sub = sub
	return nested(err)
}

func parseMap(p *pipelineParser, s *step, args []any, depth int) error {
	sub, err := p.step(args[0], s.loc+" > step", depth+1)
	s.sub = sub
	return nested(err)
}

func parsePipe(p *pipelineParser, s *step, args []any, depth int) error {
	steps, err := p.list(args[0], s.loc+" > ", depth+1)
	s.steps = steps
	return nested(err)
}

// describe names the JSON type of v for errors.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 60 {
			x = x[:60] + "..."
		}
		return fmt.Sprintf("the string %q", x)
	case json.Number:
		return "the number " + x.String()
	case bool:
		return fmt.Sprintf("%t", x)
	case []any:
		return fmt.Sprintf("a list of %d", len(x))
	case map[string]any:
		return "an attribute set"
	}
	return fmt.Sprintf("%T", v)
}

// pipelineStrategy runs in.Pipeline over in.Graph. The groups are those the
// pipeline gives, bottom layer first, without empty ones; the store paths
// the pipeline dropped (remove_paths) follow in one more group, so that the
// image holds its whole closure (a base image that has them leaves that
// group empty, and the image without it). More groups than in.Budget is an
// error: nixpkgs would make the layers, and Docker refuses images of more
// than MaxImageLayers.
func pipelineStrategy(in Input) ([][]string, error) {
	if in.Pipeline == nil {
		return nil, errors.New("choosing layers: layering \"pipeline\" needs a layeringPipeline")
	}
	groups, err := in.Pipeline.Run(in)
	if err != nil {
		return nil, fmt.Errorf("choosing layers with the layeringPipeline: %w", err)
	}
	seen := make(map[string]bool, in.Graph.Len())
	for _, g := range groups {
		for _, p := range g {
			seen[p] = true
		}
	}
	var dropped []string
	for _, info := range in.Graph.Paths() {
		if !seen[info.Path] {
			dropped = append(dropped, info.Path)
		}
	}
	if len(dropped) > 0 {
		groups = append(groups, dropped)
	}
	if len(groups) > in.Budget {
		limit := in.Budget
		if len(dropped) > 0 {
			limit-- // the dropped paths' layer counts too
		}
		return nil, fmt.Errorf("choosing layers with the layeringPipeline: it gives %d layers of store paths, and %d are available (maxLayers less the customisation layer, the Nix database and a base image's layers): end it with [\"limit_layers\" %d]", len(groups), in.Budget, max(limit, 1))
	}
	return groups, nil
}
