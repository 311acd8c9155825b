package base

import (
	"archive/tar"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
)

// node is a file of the in-memory tree a stack of layers makes.
type node struct {
	typ      byte // tar.TypeDir, tar.TypeReg or tar.TypeSymlink
	mode     int64
	uid, gid int
	size     int64
	link     string   // symlink target
	sum      [32]byte // sha256 of a regular file's content
	spool    int64    // offset of the content in the Flatten spool
	layer    int      // the layer that wrote it last
	src      entryRef // the layer entry that holds a regular file's content
	children map[string]*node
}

// entryRef names one entry of one layer: the ord-th entry Walk passes for
// that layer, counted from 1.
type entryRef struct{ layer, ord int }

func newDir(layer int) *node {
	return &node{typ: tar.TypeDir, mode: 0o755, layer: layer, children: map[string]*node{}}
}

// tree is the flattened filesystem of the layers applied so far.
type tree struct {
	root     *node
	nodes    int // nodes made, bounded by maxNodes
	maxNodes int
}

func newTree(maxNodes int) *tree { return &tree{root: newDir(-1), maxNodes: maxNodes} }

var (
	errNotExist = errors.New("no such file or directory")
	errNotDir   = errors.New("not a directory")
)

// dir returns the directory at p (clean, relative, "" for the root),
// following symlinks as a runtime does, inside the tree: a relative target
// from the symlink's directory, an absolute one from the root, ".." never
// above the root. With create, missing directories are made (by layer);
// without, a missing one is errNotExist. It also returns the resolved path.
func (t *tree) dir(p string, create bool, layer int) (*node, string, error) {
	type frame struct {
		n    *node
		name string
	}
	stack := []frame{{t.root, ""}}
	resolved := func() string {
		parts := make([]string, 0, len(stack)-1)
		for _, f := range stack[1:] {
			parts = append(parts, f.name)
		}
		return strings.Join(parts, "/")
	}
	queue := strings.Split(p, "/")
	links, steps := 0, 0
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if steps++; steps > maxLookupSteps {
			return nil, "", fmt.Errorf("looking up %q: more than %d path components: %w", p, maxLookupSteps, ErrUnsafe)
		}
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		cur := stack[len(stack)-1].n
		child := cur.children[c]
		if child == nil {
			if !create {
				return nil, "", errNotExist
			}
			if strings.HasPrefix(c, ".wh.") {
				return nil, "", fmt.Errorf("looking up %q: directory %q would be a whiteout name: %w", p, c, ErrUnsafe)
			}
			if err := t.count(); err != nil {
				return nil, "", err
			}
			child = newDir(layer)
			cur.children[c] = child
		}
		switch child.typ {
		case tar.TypeDir:
			stack = append(stack, frame{child, c})
		case tar.TypeSymlink:
			if links++; links > maxSymlinks {
				return nil, "", fmt.Errorf("looking up %q: more than %d symlinks: %w", p, maxSymlinks, ErrUnsafe)
			}
			if strings.HasPrefix(child.link, "/") {
				stack = stack[:1]
			}
			queue = append(strings.Split(child.link, "/"), queue...)
		default:
			return nil, "", fmt.Errorf("looking up %q: %q is a file: %w", p, path.Join(resolved(), c), errNotDir)
		}
	}
	return stack[len(stack)-1].n, resolved(), nil
}

// count accounts for one more node.
func (t *tree) count() error {
	if t.nodes++; t.nodes > t.maxNodes {
		return fmt.Errorf("more than %d files: %w", t.maxNodes, ErrLimit)
	}
	return nil
}

// lookup returns the node at name (its parent path resolved, the last
// component not followed) and its resolved path; nil when it does not exist.
func (t *tree) lookup(name string) (*node, string, error) {
	dir, base := path.Split(name)
	parent, rdir, err := t.dir(dir, false, 0)
	if errors.Is(err, errNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return parent.children[base], path.Join(rdir, base), nil
}

// whiteout applies the whiteout entry name (".wh.x" or ".wh..wh..opq") of
// layer. A whiteout in a directory that does not exist does nothing.
func (t *tree) whiteout(name string, layer int) error {
	dir, base := path.Split(name)
	parent, _, err := t.dir(dir, false, layer)
	if errors.Is(err, errNotExist) || errors.Is(err, errNotDir) {
		return nil
	}
	if err != nil {
		return err
	}
	if base == ".wh..wh..opq" {
		for _, name := range sortedNames(parent) {
			t.hideLower(parent, name, layer)
		}
		return nil
	}
	if strings.HasPrefix(base, ".wh..wh.") {
		return nil // aufs metadata, not a whiteout
	}
	target := strings.TrimPrefix(base, ".wh.")
	if target == "" || target == "." {
		return fmt.Errorf("whiteout %q names no file: %w", name, ErrUnsafe)
	}
	t.hideLower(parent, target, layer)
	return nil
}

// hideLower removes what layers below layer put at parent/name: the whole
// node if a lower layer wrote it, else (a directory of this layer) its
// lower descendants.
func (t *tree) hideLower(parent *node, name string, layer int) {
	n := parent.children[name]
	if n == nil {
		return
	}
	if n.layer < layer {
		delete(parent.children, name)
		return
	}
	for _, c := range sortedNames(n) {
		t.hideLower(n, c, layer)
	}
}

// put writes n at name for layer: it replaces what was there, except that a
// directory written over a directory keeps the children.
func (t *tree) put(name string, n *node, layer int) error {
	dir, base := path.Split(name)
	parent, _, err := t.dir(dir, true, layer)
	if err != nil {
		return err
	}
	n.layer = layer
	if old := parent.children[base]; old != nil && old.typ == tar.TypeDir && n.typ == tar.TypeDir {
		old.mode, old.uid, old.gid, old.layer = n.mode, n.uid, n.gid, layer
		return nil
	}
	if err := t.count(); err != nil {
		return err
	}
	if n.typ == tar.TypeDir && n.children == nil {
		n.children = map[string]*node{}
	}
	parent.children[base] = n
	return nil
}

// hardlink returns a copy of the file a hard link points to (target, a
// clean name), which must exist and not be a directory.
func (t *tree) hardlink(target string) (*node, error) {
	n, _, err := t.lookup(target)
	if err != nil {
		return nil, fmt.Errorf("hard link to %q: %w", target, err)
	}
	if n == nil {
		return nil, fmt.Errorf("hard link to %q, which does not exist: %w", target, ErrUnsafe)
	}
	if n.typ == tar.TypeDir {
		return nil, fmt.Errorf("hard link to %q, a directory: %w", target, ErrUnsafe)
	}
	c := *n
	return &c, nil
}

func sortedNames(n *node) []string {
	names := make([]string, 0, len(n.children))
	for k := range n.children {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// walk calls fn for every node under the root, in path order (children
// sorted by name, a directory before its contents).
func (t *tree) walk(fn func(name string, n *node) error) error {
	var rec func(prefix string, d *node) error
	rec = func(prefix string, d *node) error {
		for _, k := range sortedNames(d) {
			c := d.children[k]
			name := prefix + k
			if err := fn(name, c); err != nil {
				return err
			}
			if c.typ == tar.TypeDir {
				if err := rec(name+"/", c); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return rec("", t.root)
}

// follow returns the node at name with every symlink followed, the last
// component's included, inside the tree; nil when nothing exists there.
func (t *tree) follow(name string) (*node, string, error) {
	for hops := 0; ; hops++ {
		n, resolved, err := t.lookup(name)
		if err != nil || n == nil || n.typ != tar.TypeSymlink {
			return n, resolved, err
		}
		if hops >= maxSymlinks {
			return nil, "", fmt.Errorf("looking up %q: more than %d symlinks: %w", name, maxSymlinks, ErrUnsafe)
		}
		target := n.link
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(resolved), target)
		}
		name = path.Clean("/" + target)[1:] // ".." stops at the root
		if name == "" {
			return t.root, "", nil
		}
	}
}
