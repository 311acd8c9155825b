package spec

import (
	"encoding/json"
	"fmt"
)

// Provenance is what the image's provenance statement (package
// provenance) takes from the build's input: the arguments as the builder
// got them, and the nixlayer that builds.
type Provenance struct {
	// Parameters is the spec as JSON: the statement's externalParameters.
	Parameters json.RawMessage
	// Version is nixlayer's version (Env.Version).
	Version string
}

// resolveProvenance reads the provenance field: nil when it is false.
func resolveProvenance(s *Spec, env Env) (*Provenance, error) {
	if s.Provenance != nil && !*s.Provenance {
		return nil, nil
	}
	params, err := givenFields(s)
	if err != nil {
		return nil, fmt.Errorf("recording the arguments for the provenance: %w", err)
	}
	return &Provenance{Parameters: params, Version: env.Version}, nil
}

// deliveryFields are the spec's fields that say how the image is
// delivered, not what it is: the Nix function's name and stream (a
// stream script writes, later, the archive buildLayeredImage writes now).
// The provenance leaves them out, so that the two carry one statement.
var deliveryFields = []string{"function", "stream"}

// givenFields is s as JSON without the fields left at their zero value
// (null, "", false, 0, empty), the arguments given, which a default stands
// for otherwise, and without deliveryFields.
func givenFields(s *Spec) (json.RawMessage, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	for k, v := range fields {
		switch string(v) {
		case "null", `""`, "false", "0", "[]", "{}":
			delete(fields, k)
		}
	}
	for _, k := range deliveryFields {
		delete(fields, k)
	}
	return json.Marshal(fields)
}
