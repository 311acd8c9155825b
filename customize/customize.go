package customize

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/nixlayer/nixlayer/layers"
)

// Image is what the image holds besides the customisation: what the
// checks of config.User, config.WorkingDir and the perms rules look at.
type Image struct {
	// Root returns the entries the contents put at the image root. It is
	// called only when a check needs it.
	Root func() ([]layers.Entry, error)
	// StorePaths are the store paths of the image, on this machine.
	StorePaths []string
	// User and WorkingDir are those of the image config.
	User       string
	WorkingDir string
	// Base, when not nil, reads a regular file of the base image below
	// (fromImage): the image's users may come from there.
	Base func(name string) ([]byte, bool, error)
	// Scripted says a root script (runAsRoot, fakeRootCommands) runs over
	// the root afterwards: what it makes cannot be checked yet, so a perms
	// rule that matches nothing now and a config.User the image does not
	// define yet are not errors.
	Scripted bool
}

// Result is the customisation of an image.
type Result struct {
	// Entries go at the image root, after the contents (they win).
	Entries []layers.Entry
	// Rules are applied to the entries of every layer.
	Rules Rules
}

// ErrNoShell is returned when extraCommands is given without a shell.
var ErrNoShell = errors.New("extraCommands needs a shell: give `shell` (or `pkgs`, whose runtimeShell is the default)")

// Customise makes the entries the spec declares (user database and homes,
// directories, files, symlinks, config.WorkingDir when missing, the output
// of extraCommands), checks config.User against the image's users, and
// resolves the perms rules, each of which must match something in the
// image.
func Customise(s *Spec, img Image) (*Result, error) {
	declared, err := s.declared()
	if err != nil {
		return nil, err
	}
	if s.ExtraCommands != nil && *s.ExtraCommands != "" {
		if s.Shell == nil || *s.Shell == "" {
			return nil, ErrNoShell
		}
		made, err := RunExtraCommands(*s.Shell, *s.ExtraCommands)
		if err != nil {
			return nil, err
		}
		if declared, err = mergeMade(declared, made); err != nil {
			return nil, err
		}
	}
	if !s.needsImage(img) {
		return &Result{Entries: declared}, nil
	}
	var root []layers.Entry
	if img.Root != nil {
		if root, err = img.Root(); err != nil {
			return nil, err
		}
	}
	v := newView(root, declared, img.StorePaths)
	v.base = img.Base
	if img.WorkingDir != "" {
		name, err := layers.CleanName(img.WorkingDir)
		if err == nil && !v.exists(name) {
			declared = append(declared, layers.Dir(name, 0o755))
			v = newView(root, declared, img.StorePaths)
			v.base = img.Base
		}
	}
	n, err := v.names()
	if err != nil {
		return nil, err
	}
	if err := checkUser(img.User, n); err != nil && !img.Scripted {
		return nil, err
	}
	rules := make(Rules, 0, len(s.Perms))
	for i := range s.Perms {
		r, err := s.Perms[i].resolve(i, n, v.imagePath)
		if err != nil {
			return nil, err
		}
		if ok, err := v.matches(&r); err != nil {
			return nil, err
		} else if !ok && !img.Scripted {
			return nil, fmt.Errorf("%s matches nothing in the image", r.Source)
		}
		rules = append(rules, r)
	}
	return &Result{Entries: declared, Rules: rules}, nil
}

// needsImage tells whether a check has to look at the rest of the image.
func (s *Spec) needsImage(img Image) bool {
	return len(s.Perms) > 0 || img.WorkingDir != "" || (img.User != "" && !numericUser(img.User))
}

func numericUser(u string) bool {
	user, group, _ := strings.Cut(u, ":")
	_, err1 := strconv.ParseUint(user, 10, 32)
	_, err2 := strconv.ParseUint(group, 10, 32)
	return err1 == nil && (group == "" || err2 == nil)
}

// declared returns the entries the spec declares, without extraCommands.
// A path declared twice (as a file and a symlink, say) is an error.
func (s *Spec) declared() ([]layers.Entry, error) {
	var entries []layers.Entry
	origin := map[string]string{}
	add := func(what string, e layers.Entry) error {
		if prev, ok := origin[e.Name]; ok {
			return fmt.Errorf("/%s is declared twice: by %s and by %s", e.Name, prev, what)
		}
		origin[e.Name] = what
		entries = append(entries, e)
		return nil
	}
	db, err := s.Database()
	if err != nil {
		return nil, err
	}
	if db != nil {
		for _, e := range db.Entries() {
			if err := add("users", e); err != nil {
				return nil, err
			}
		}
	}
	for i, d := range s.Directories {
		field := fmt.Sprintf("directories[%d]", i)
		name, err := layers.CleanName(d.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		mode := int64(0o755)
		if d.Mode != "" {
			if mode, err = parseMode(field+".mode", d.Mode); err != nil {
				return nil, err
			}
		}
		if err := add(field, layers.Dir(name, mode)); err != nil {
			return nil, err
		}
	}
	for _, p := range sortedKeys(s.Files) {
		e, err := fileEntry(p, s.Files[p])
		if err != nil {
			return nil, err
		}
		if err := add(fmt.Sprintf("files.%q", p), e); err != nil {
			return nil, err
		}
	}
	for _, p := range sortedKeys(s.Symlinks) {
		field := fmt.Sprintf("symlinks.%q", p)
		name, err := layers.CleanName(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		if s.Symlinks[p] == "" {
			return nil, fmt.Errorf("%s: the target is empty", field)
		}
		if err := add(field, layers.Symlink(name, s.Symlinks[p])); err != nil {
			return nil, err
		}
	}
	return entries, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// fileEntry makes the entry of a declared file; a Source file's content is
// read now, so that the entry holds it.
func fileEntry(p string, f File) (layers.Entry, error) {
	field := fmt.Sprintf("files.%q", p)
	name, err := layers.CleanName(p)
	if err != nil {
		return layers.Entry{}, fmt.Errorf("%s: %w", field, err)
	}
	if (f.Text == nil) == (f.Source == nil) {
		return layers.Entry{}, fmt.Errorf("%s: give exactly one of text and source", field)
	}
	var data []byte
	mode := int64(0o644)
	if f.Text != nil {
		data = []byte(*f.Text)
	} else {
		fi, err := os.Stat(*f.Source)
		if err != nil {
			return layers.Entry{}, fmt.Errorf("%s: reading source: %w", field, err)
		}
		if !fi.Mode().IsRegular() {
			return layers.Entry{}, fmt.Errorf("%s: source %s is not a regular file", field, *f.Source)
		}
		if fi.Mode()&0o111 != 0 {
			mode = 0o555
		}
		if data, err = os.ReadFile(*f.Source); err != nil {
			return layers.Entry{}, fmt.Errorf("%s: reading source: %w", field, err)
		}
	}
	if f.Mode != "" {
		if mode, err = parseMode(field+".mode", f.Mode); err != nil {
			return layers.Entry{}, err
		}
	}
	return layers.File(name, mode, data), nil
}

// mergeMade adds what extraCommands made to the declared entries. A
// declared directory keeps its mode and owner; any other path both declared
// and made is an error.
func mergeMade(declared, made []layers.Entry) ([]layers.Entry, error) {
	byName := make(map[string]*layers.Entry, len(declared))
	for i := range declared {
		byName[declared[i].Name] = &declared[i]
	}
	out := declared
	for _, e := range made {
		d, ok := byName[e.Name]
		if !ok {
			out = append(out, e)
			continue
		}
		if d.Type == tar.TypeDir && e.Type == tar.TypeDir {
			continue
		}
		return nil, fmt.Errorf("extraCommands made /%s, which the spec also declares (users, files, symlinks or directories): declare it in one place", e.Name)
	}
	return out, nil
}

// checkUser checks config.User ("name", "name:group", "uid", "uid:gid"):
// a name must be a user (or group) of the image.
func checkUser(u string, n *names) error {
	if u == "" {
		return nil
	}
	user, group, hasGroup := strings.Cut(u, ":")
	if _, err := strconv.ParseUint(user, 10, 32); err != nil {
		if _, ok := n.uid(user); !ok {
			return fmt.Errorf("config.User = %q: user %q is not defined in the image (%s); declare it in users", u, user, n.describe("users"))
		}
	}
	if hasGroup {
		if _, err := strconv.ParseUint(group, 10, 32); err != nil {
			if _, ok := n.gid(group); !ok {
				return fmt.Errorf("config.User = %q: group %q is not defined in the image (%s); declare it in groups", u, group, n.describe("groups"))
			}
		}
	}
	return nil
}

// describe lists the names the image has, or says it has no database.
func (n *names) describe(what string) string {
	var list []string
	if what == "users" {
		for _, u := range n.users {
			list = append(list, u.Name)
		}
	} else {
		for _, g := range n.groups {
			list = append(list, g.Name)
		}
	}
	if len(list) == 0 {
		return "it has no /etc/" + map[string]string{"users": "passwd", "groups": "group"}[what]
	}
	return "its " + what + " are " + strings.Join(list, ", ")
}

// view is the image as the checks see it: the names at the root (contents
// and customisation, with their parent directories) and the store paths.
type view struct {
	root   map[string]layers.Entry
	stores map[string]string // image name of a store path (nix/store/<base>) → path on disk
	base   func(name string) ([]byte, bool, error)
}

func newView(root, custom []layers.Entry, storePaths []string) *view {
	v := &view{root: map[string]layers.Entry{}, stores: map[string]string{}}
	for _, e := range layers.Merge(root, custom) {
		v.root[e.Name] = e
	}
	for _, e := range layers.StoreDirs(storePaths) {
		v.root[e.Name] = e
	}
	for _, p := range storePaths {
		v.stores[strings.TrimPrefix(path.Clean(p), "/")] = p
	}
	return v
}

// store returns the store path holding name and the path on disk of name,
// when name is in a store path of the image.
func (v *view) store(name string) (base, disk string, ok bool) {
	for top := name; top != "." && top != "/"; top = path.Dir(top) {
		if p, ok := v.stores[top]; ok {
			rest := strings.TrimPrefix(name[len(top):], "/")
			return top, filepath.Join(p, filepath.FromSlash(rest)), true
		}
	}
	return "", "", false
}

func (v *view) exists(name string) bool {
	if _, ok := v.root[name]; ok {
		return true
	}
	if _, disk, ok := v.store(name); ok {
		_, err := os.Lstat(disk)
		return err == nil
	}
	return false
}

// matches tells whether r matches at least one entry of the image.
func (v *view) matches(r *Rule) (bool, error) {
	re, err := r.compile()
	if err != nil {
		return false, err
	}
	m := matcher{r, re}
	if re == nil {
		return v.exists(r.Path), nil
	}
	for name := range v.root {
		if m.match(name) {
			return true, nil
		}
	}
	// Store paths at or below the rule's path, or the one holding it.
	var walks []struct{ disk, name string }
	if _, disk, ok := v.store(r.Path); ok {
		walks = append(walks, struct{ disk, name string }{disk, r.Path})
	} else {
		for name, disk := range v.stores {
			if m.match(name) || strings.HasPrefix(name, r.Path+"/") {
				walks = append(walks, struct{ disk, name string }{disk, name})
			}
		}
	}
	for _, w := range walks {
		found := false
		err := filepath.WalkDir(w.disk, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // a path missing on disk matches nothing
			}
			name := w.name
			if p != w.disk {
				name += "/" + filepath.ToSlash(strings.TrimPrefix(p, w.disk+string(filepath.Separator)))
			}
			if m.match(name) {
				found = true
				return fs.SkipAll
			}
			return nil
		})
		if err != nil {
			return false, fmt.Errorf("checking rule %s against %s: %w", r.Source, w.disk, err)
		}
		if found {
			return true, nil
		}
	}
	return false, nil
}
