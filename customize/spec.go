package customize

// Spec holds the customisation arguments of a builder. It is embedded in
// image.Spec, so its fields sit at the top level of the builder's options.
type Spec struct{}
