package image

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/nixlayer/nixlayer/image/base"
	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/nixdb"
	"github.com/nixlayer/nixlayer/recipe"
	"github.com/nixlayer/nixlayer/registration"
)

// onBase adapts our planned layers to the base image: store paths the base
// already has identically are not written again, and root entries are
// moved through the base's symlinks to directories (a base's bin -> usr/bin
// stays a symlink and our bin/x lands in usr/bin/x), dropping what the base
// has identically. A change that would replace a base directory by a file
// is an error.
func onBase(x *base.Index, plan []recipe.Layer, storeDir string) ([]recipe.Layer, error) {
	if err := storeDirsReal(x, storeDir); err != nil {
		return nil, err
	}
	present := map[string]bool{}
	out := plan[:0]
	for _, l := range plan {
		finish, err := l.Finisher()
		if err != nil {
			return nil, err
		}
		var keep []string
		for _, p := range l.StorePaths {
			has, ok := present[p]
			if !ok {
				var err error
				if has, err = baseHasStorePath(x, finish, p); err != nil {
					return nil, err
				}
				present[p] = has
			}
			if !has {
				keep = append(keep, p)
			}
		}
		if len(keep) != len(l.StorePaths) {
			l.Comment = comment(keep, len(l.Extra) > 0)
		}
		l.StorePaths = keep
		// Compared as they will be written: with the layer's owner and rules.
		finish(l.Extra)
		extra, err := throughLinks(x, l.Extra)
		if err != nil {
			return nil, err
		}
		if l.Extra, err = x.Filter(extra); err != nil {
			return nil, fmt.Errorf("putting our files over the base image: %w", err)
		}
		if len(l.StorePaths) > 0 || len(l.Extra) > 0 {
			out = append(out, l)
		}
	}
	return out, nil
}

// storeDirsReal fails when the base's store directory (/nix/store) or a
// directory above it is a symlink or not a directory. Our layers write
// <storeDir>/<path> with real directory entries, which a runtime unpacks
// over the base's symlink (replacing it):
// the base's store paths behind the link would vanish, and ours that the
// base already has (found through the link, so not written again) with
// them. Rather than make an image missing store paths, the build stops.
func storeDirsReal(x *base.Index, storeDir string) error {
	for _, d := range layers.StoreDir(storeDir) {
		f, ok, err := x.Lookup(d.Name)
		if err != nil {
			return fmt.Errorf("looking up /%s in the base image (fromImage): %w", d.Name, err)
		}
		switch {
		case !ok || f.Type == tar.TypeDir:
			continue
		case f.Type == tar.TypeSymlink:
			return fmt.Errorf("the base image (fromImage) has /%s as a symlink to %q: the image's store paths must be real directories under %s, and a layer writing them would replace the link and hide what the base has behind it; use a base whose /%s is a directory: %w", f.Path, f.Linkname, storeDir, f.Path, base.ErrUnsafe)
		default:
			return fmt.Errorf("the base image (fromImage) has /%s, which is not a directory (type %q), where the image's store paths go: %w", f.Path, f.Type, base.ErrUnsafe)
		}
	}
	return nil
}

// baseHasStorePath reports whether every file of store path p, as a layer
// writes it (finish gives the owner and permission rules), is in the base
// image with the same content and metadata.
func baseHasStorePath(x *base.Index, finish func([]layers.Entry), p string) (bool, error) {
	name, err := layers.CleanName(p)
	if err != nil {
		return false, err
	}
	if _, ok, err := x.Lookup(name); err != nil || !ok {
		return false, err
	}
	entries, err := layers.StorePath(p)
	if err != nil {
		return false, err
	}
	finish(entries)
	for _, e := range entries {
		same, err := x.Same(e)
		if err != nil || !same {
			return false, err
		}
	}
	return true, nil
}

// throughLinks renames entries whose parent directories are symlinks in
// the base image to where those symlinks lead.
func throughLinks(x *base.Index, entries []layers.Entry) ([]layers.Entry, error) {
	cache := map[string]string{}
	out := make([]layers.Entry, len(entries))
	for i, e := range entries {
		dir, err := resolveDir(x, path.Dir(e.Name), cache, 0)
		if err != nil {
			return nil, fmt.Errorf("placing /%s over the base image: %w", e.Name, err)
		}
		e.Name = path.Join(dir, path.Base(e.Name))
		out[i] = e
	}
	return out, nil
}

// resolveDir returns where directory dir of the image is once the base's
// symlinks are followed, staying inside the image root.
func resolveDir(x *base.Index, dir string, cache map[string]string, depth int) (string, error) {
	if dir == "." || dir == "" || dir == "/" {
		return ".", nil
	}
	if r, ok := cache[dir]; ok {
		return r, nil
	}
	if depth > maxLinks {
		return "", fmt.Errorf("too many levels of symlinks at /%s in the base image", dir)
	}
	parent, err := resolveDir(x, path.Dir(dir), cache, depth)
	if err != nil {
		return "", err
	}
	p := path.Join(parent, path.Base(dir))
	f, ok, err := x.Lookup(p)
	if err != nil {
		return "", err
	}
	resolved := p
	if ok && f.Type == tar.TypeSymlink {
		target := f.Linkname
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}
		target = path.Clean("/" + target)[1:] // ".." cannot climb above the root
		if resolved, err = resolveDir(x, target, cache, depth+1); err != nil {
			return "", err
		}
	}
	cache[dir] = resolved
	return resolved, nil
}

// baseReader returns a function that reads /etc/passwd and /etc/group of
// the base image from its index.
func baseReader(img *base.Image) func(name string) ([]byte, bool, error) {
	return func(name string) ([]byte, bool, error) {
		x, err := img.Index()
		if err != nil {
			return nil, false, err
		}
		return x.Content(name, maxBaseUserFileBytes)
	}
}

// baseGraph reads the Nix database of the base image, if it has one,
// stopped when ctx is done.
func baseGraph(ctx context.Context, img *base.Image, storeDir, tempDir string) (*registration.Graph, error) {
	x, err := img.Index()
	if err != nil {
		return nil, err
	}
	if f, ok, err := x.Lookup(recipe.BaseDBFiles[0]); err != nil || !ok || f.Type != tar.TypeReg {
		return nil, err
	}
	dir, err := os.MkdirTemp(tempDir, "nixlayer-basedb-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for _, name := range recipe.BaseDBFiles {
		if err := copyBaseFile(x, name, filepath.Join(dir, path.Base(name))); err != nil {
			return nil, err
		}
	}
	g, err := nixdb.ReadGraphContext(ctx, filepath.Join(dir, "db.sqlite"), storeDir)
	if err != nil {
		return nil, fmt.Errorf("base image's Nix database: %w", err)
	}
	return g, nil
}

// copyBaseFile copies the base's file name (when it has one) to the new
// file dst, streaming, within maxBaseDBBytes.
func copyBaseFile(x *base.Index, name, dst string) error {
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	ok, err := x.CopyContent(name, w, maxBaseDBBytes)
	if err == nil {
		err = w.Flush()
	}
	if err == nil && !ok {
		err = os.Remove(dst)
	}
	if err != nil {
		return fmt.Errorf("copying the base image's /%s: %w", name, err)
	}
	return f.Close()
}
