package image

import (
	"github.com/nixlayer/nixlayer/customize"
	"github.com/nixlayer/nixlayer/layers"
)

// customisation returns the entries the spec declares for the image root
// (users, files, symlinks, directories, config.WorkingDir, extraCommands
// output) and the permission rules every layer applies. It checks
// config.User against the image's users, (uname/gname name every entry's
// owner, before the user's rules), and that each rule matches an
// entry of the image: the contents (whose root entries root gives), the
// customisation or one of the closure's store paths.
func (p *planner) customisation(root func() ([]layers.Entry, error), stores []string) ([]layers.Entry, customize.Rules, error) {
	var base func(string) ([]byte, bool, error)
	if p.base != nil {
		base = baseReader(p.base)
	}
	res, err := customize.Customise(&p.set.Customize, customize.Image{
		Root:       root,
		StorePaths: stores,
		User:       p.set.Config.User,
		WorkingDir: p.set.Config.WorkingDir,
		Base:       base,
		Scripted:   p.set.Script != nil,
	})
	if err != nil {
		return nil, nil, err
	}
	rules := res.Rules
	if p.set.Uname != nil || p.set.Gname != nil {
		// First, so that the user's perms rules win over it.
		rules = append(customize.Rules{customize.OwnerNames(p.set.Uname, p.set.Gname)}, rules...)
	}
	return res.Entries, rules, nil
}
