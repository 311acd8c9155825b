package nixdb

import (
	"context"

	"github.com/nixlayer/nixlayer/registration"
)

// WriteClosureInfo writes dir/registration, dir/store-paths and
// dir/total-nar-size for g with the content nixpkgs' closureInfo gives (see
// registration.WriteClosureInfo). Missing narHash and narSize are first
// computed from the store paths on disk (Complete); with check, given ones
// are verified too.
func WriteClosureInfo(ctx context.Context, g *registration.Graph, dir string, check bool) error {
	g, err := Complete(ctx, g, check)
	if err != nil {
		return err
	}
	return registration.WriteClosureInfo(dir, g)
}
