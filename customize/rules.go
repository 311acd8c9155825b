package customize

import "github.com/nixlayer/nixlayer/layers"

// Rule is a resolved permission rule, as it travels with each planned layer.
type Rule struct{}

// Rules are permission rules applied in order; a later rule wins.
type Rules []Rule

// Apply sets the mode and owner the rules give to the entries they match.
func (rs Rules) Apply(entries []layers.Entry) {}
