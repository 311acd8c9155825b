package image

import (
	"github.com/nixlayer/nixlayer/customize"
	"github.com/nixlayer/nixlayer/layers"
)

// customisation returns the entries the spec declares for the image root
// (users, files, symlinks, directories, config.WorkingDir, extraCommands
// output) and the permission rules every layer applies. It checks
// config.User against the image's users, and that each rule matches an
// entry of the image: the contents, the customisation or a store path of
// the closure.
func (r *Request) customisation() ([]layers.Entry, customize.Rules, error) {
	cfg, err := r.Spec.ImageConfig()
	if err != nil {
		return nil, nil, err
	}
	var stores []string
	if r.Graph != nil {
		for _, p := range r.Graph.Paths() {
			stores = append(stores, p.Path)
		}
	}
	res, err := customize.Customise(&r.Spec.Spec, customize.Image{
		// The names at the root are the same whether contents are copied
		// or linked.
		Root:       func() ([]layers.Entry, error) { return layers.Contents(r.Spec.Contents, layers.Link) },
		StorePaths: stores,
		User:       cfg.User,
		WorkingDir: cfg.WorkingDir,
		Base:       r.baseFile(),
	})
	if err != nil {
		return nil, nil, err
	}
	return res.Entries, res.Rules, nil
}

// baseFile reads files of the base image for the customisation's checks,
// or is nil without a base image.
func (r *Request) baseFile() func(string) ([]byte, bool, error) {
	if r.base == nil {
		return nil
	}
	return baseReader(r.base)
}
