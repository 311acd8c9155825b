package customize

import (
	"archive/tar"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/nixlayer/nixlayer/internal/regularfile"
	"github.com/nixlayer/nixlayer/layers"
)

// maxUserFileBytes bounds /etc/passwd and /etc/group, read into memory
// for the config.User and perms checks (see the README's "Limits").
const maxUserFileBytes = 16 << 20

// maxReadLinks bounds the symlinks followed to find one file, as Linux's
// MAXSYMLINKS.
const maxReadLinks = 40

// read returns the content of the file name at the image root. Symlinks
// are followed as the image will see them: inside the image's own tree
// (its root entries, its store paths, the base image), never through the
// build machine's files. A file in a store path is looked up one component
// at a time, so a symlink inside a store path that points to /etc/passwd
// leads to the image's /etc/passwd, not the host's.
func (v *view) read(name string) ([]byte, bool, error) {
	orig := name
	for hops := 0; hops < maxReadLinks; hops++ {
		e, ok := v.root[name]
		if !ok {
			if _, _, ok := v.store(name); ok {
				data, found, next, err := v.readStore(name)
				if err != nil || next == "" {
					return data, found, err
				}
				name = next
				continue
			}
			if v.base != nil {
				return v.base(name)
			}
			return nil, false, nil
		}
		switch e.Type {
		case tar.TypeReg:
			if e.Source == "" {
				return e.Data, true, nil
			}
			data, err := regularfile.ReadAll(e.Source, maxUserFileBytes, true)
			if err != nil {
				return nil, false, fmt.Errorf("reading the image's /%s: %w", name, err)
			}
			return data, true, nil
		case tar.TypeSymlink:
			target := e.Linkname
			if !path.IsAbs(target) {
				target = path.Join("/", path.Dir(name), target)
			}
			if name, ok = cleanTarget(target, v); !ok {
				return nil, false, nil
			}
		default:
			return nil, false, nil
		}
	}
	return nil, false, fmt.Errorf("reading the image's /%s: more than %d levels of symlinks", orig, maxReadLinks)
}

// readStore reads name, a file inside one of the image's store paths,
// walking its components with Lstat. At a symlink it returns next, the
// image name the link leads to with the rest of the path appended, for
// read to resolve; found is false when nothing regular is there.
func (v *view) readStore(name string) (data []byte, found bool, next string, err error) {
	top, _, _ := v.store(name)
	cur, img := v.stores[top], top
	var comps []string
	if rest := strings.Trim(strings.TrimPrefix(name, top), "/"); rest != "" {
		comps = strings.Split(rest, "/")
	}
	for i := -1; i < len(comps); i++ {
		if i >= 0 {
			cur, img = filepath.Join(cur, comps[i]), img+"/"+comps[i]
		}
		fi, err := os.Lstat(cur)
		if os.IsNotExist(err) || (err == nil && i < len(comps)-1 && !fi.IsDir() && fi.Mode()&os.ModeSymlink == 0) {
			return nil, false, "", nil
		}
		if err != nil {
			return nil, false, "", fmt.Errorf("reading the image's /%s: %w", name, err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			link, err := os.Readlink(cur)
			if err != nil {
				return nil, false, "", fmt.Errorf("reading the image's /%s: %w", name, err)
			}
			target := v.imagePath(link)
			if !path.IsAbs(link) {
				target = path.Join("/", path.Dir(img), link)
			}
			next, err := layers.CleanName(path.Join(append([]string{target}, comps[i+1:]...)...))
			if err != nil || next == "" {
				return nil, false, "", nil
			}
			return nil, false, next, nil
		}
	}
	data, err = regularfile.ReadAll(cur, maxUserFileBytes, true)
	if errors.Is(err, regularfile.ErrNotRegular) {
		return nil, false, "", nil
	}
	if err != nil {
		return nil, false, "", fmt.Errorf("reading the image's /%s (%s): %w", name, cur, err)
	}
	return data, true, "", nil
}

// names returns the users and groups of the image: those of its
// /etc/passwd and /etc/group, whoever provides them.
func (v *view) names() (*names, error) {
	n := &names{}
	for _, f := range []struct {
		name  string
		parse func([]byte) error
	}{
		{"etc/passwd", func(b []byte) (err error) { n.users, err = ParsePasswd(b); return }},
		{"etc/group", func(b []byte) (err error) { n.groups, err = ParseGroup(b); return }},
	} {
		data, ok, err := v.read(f.name)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if err := f.parse(data); err != nil {
			return nil, fmt.Errorf("reading the image's /%s: %w", f.name, err)
		}
	}
	return n, nil
}

// imagePath maps a path in one of the image's store paths on the build
// machine to its path in the image (the same path, cleaned); other paths are
// returned as they are.
func (v *view) imagePath(p string) string {
	for img, disk := range v.stores {
		if p == disk || strings.HasPrefix(p, disk+"/") {
			return "/" + img + strings.TrimPrefix(p, disk)
		}
	}
	return p
}

// cleanTarget turns an absolute symlink target into an entry name.
func cleanTarget(target string, v *view) (string, bool) {
	name, err := layers.CleanName(v.imagePath(target))
	return name, err == nil
}
