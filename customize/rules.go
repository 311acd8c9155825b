package customize

import (
	"archive/tar"
	"fmt"
	"regexp"
	"strings"

	"github.com/nixlayer/nixlayer/layers"
)

// Rule is a resolved permission rule, as it travels with each planned layer
// (and, in a stream script, as JSON): names and ids are both filled in.
type Rule struct {
	// Path is the entry name (no leading slash) the rule is about.
	Path string `json:"path"`
	// Regex, when set, makes the rule match every entry at or below Path
	// whose image path ("/"+name) it matches entirely.
	Regex string  `json:"regex,omitempty"`
	Mode  *int64  `json:"mode,omitempty"`
	Uid   *int    `json:"uid,omitempty"`
	Gid   *int    `json:"gid,omitempty"`
	Uname *string `json:"uname,omitempty"`
	Gname *string `json:"gname,omitempty"`
	// Source is the rule as the user wrote it, for error messages.
	Source string `json:"source,omitempty"`
}

// OwnerNames returns the rule that gives every entry of every layer the
// owner names uname and gname (nil leaves a name as it is): dockerTools'
// uname and gname arguments. Its Path is empty, which matches every entry.
func OwnerNames(uname, gname *string) Rule {
	return Rule{Uname: uname, Gname: gname, Source: "uname/gname"}
}

// Rules are permission rules applied in order; a later rule wins.
type Rules []Rule

// compile returns the rule's anchored regular expression, or nil.
func (r *Rule) compile() (*regexp.Regexp, error) {
	if r.Regex == "" {
		return nil, nil
	}
	re, err := regexp.Compile(`^(?:` + r.Regex + `)$`)
	if err != nil {
		return nil, fmt.Errorf("compiling the regex of rule %s: %w", r.Source, err)
	}
	return re, nil
}

// matcher tells whether a rule matches an entry name.
type matcher struct {
	rule *Rule
	re   *regexp.Regexp
}

func (m matcher) match(name string) bool {
	p := m.rule.Path
	if p == "" {
		return m.re == nil || m.re.MatchString("/"+name)
	}
	if m.re == nil {
		return name == p
	}
	if name != p && !(strings.HasPrefix(name, p) && name[len(p)] == '/') {
		return false
	}
	return m.re.MatchString("/" + name)
}

// Matchers are Rules compiled once, to apply to many batches of entries.
type Matchers []matcher

// Compile compiles the rules' regexes.
func (rs Rules) Compile() (Matchers, error) {
	ms := make(Matchers, len(rs))
	for i := range rs {
		re, err := rs[i].compile()
		if err != nil {
			return nil, err
		}
		ms[i] = matcher{&rs[i], re}
	}
	return ms, nil
}

// Apply sets the mode and owner the rules give to the entries they match,
// in rule order. A symlink keeps its mode (Linux ignores it) but takes an
// owner.
func (rs Rules) Apply(entries []layers.Entry) error {
	ms, err := rs.Compile()
	if err != nil {
		return err
	}
	ms.Apply(entries)
	return nil
}

// Apply is Rules.Apply with the regexes compiled.
func (ms Matchers) Apply(entries []layers.Entry) {
	for i := range entries {
		e := &entries[i]
		for _, m := range ms {
			if m.match(e.Name) {
				m.rule.set(e)
			}
		}
	}
}

func (r *Rule) set(e *layers.Entry) {
	if r.Mode != nil && e.Type != tar.TypeSymlink {
		e.Mode = *r.Mode
	}
	if r.Uid != nil {
		e.Uid = *r.Uid
	}
	if r.Uname != nil {
		e.Uname = *r.Uname
	}
	if r.Gid != nil {
		e.Gid = *r.Gid
	}
	if r.Gname != nil {
		e.Gname = *r.Gname
	}
}

// names looks user and group names and ids up in the image's database.
type names struct {
	users  []Account
	groups []GroupEntry
}

func (n *names) uid(name string) (int64, bool) {
	for _, u := range n.users {
		if u.Name == name {
			return u.Uid, true
		}
	}
	return 0, false
}

func (n *names) uname(id int64) string {
	for _, u := range n.users {
		if u.Uid == id {
			return u.Name
		}
	}
	return ""
}

func (n *names) gid(name string) (int64, bool) {
	for _, g := range n.groups {
		if g.Name == name {
			return g.Gid, true
		}
	}
	return 0, false
}

func (n *names) gname(id int64) string {
	for _, g := range n.groups {
		if g.Gid == id {
			return g.Name
		}
	}
	return ""
}

// describe renders a perm for error messages, as the user wrote it.
func (p *Perm) describe(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "perms[%d] { path = %q;", i, p.Path)
	if p.Regex != nil {
		fmt.Fprintf(&b, " regex = %q;", *p.Regex)
	}
	if p.Mode != nil {
		fmt.Fprintf(&b, " mode = %q;", *p.Mode)
	}
	if p.Uid != nil {
		fmt.Fprintf(&b, " uid = %d;", *p.Uid)
	}
	if p.Gid != nil {
		fmt.Fprintf(&b, " gid = %d;", *p.Gid)
	}
	if p.Uname != nil {
		fmt.Fprintf(&b, " uname = %q;", *p.Uname)
	}
	if p.Gname != nil {
		fmt.Fprintf(&b, " gname = %q;", *p.Gname)
	}
	b.WriteString(" }")
	return b.String()
}

// resolve checks a perm and fills in the ids of names and the names of ids
// from the image's users and groups, so that a rule giving uid = 1000 also
// writes uname "app" (an id with no name clears the name).
//
// A path in a store path of the image names the entry at the same path in
// the image (imagePath cleans it).
func (p *Perm) resolve(i int, n *names, imagePath func(string) string) (Rule, error) {
	src := p.describe(i)
	r := Rule{Source: src}
	var err error
	if r.Path, err = layers.CleanName(imagePath(p.Path)); err != nil {
		return r, fmt.Errorf("%s: path: %w", src, err)
	}
	if p.Regex != nil {
		if *p.Regex == "" {
			return r, fmt.Errorf("%s: regex is empty (leave it out to match the path alone)", src)
		}
		r.Regex = *p.Regex
		if _, err := r.compile(); err != nil {
			return r, err
		}
	}
	if p.Mode != nil {
		m, err := parseMode(fmt.Sprintf("perms[%d].mode", i), *p.Mode)
		if err != nil {
			return r, err
		}
		r.Mode = &m
	}
	if p.Mode == nil && p.Uid == nil && p.Gid == nil && p.Uname == nil && p.Gname == nil {
		return r, fmt.Errorf("%s sets nothing: give mode, uid, gid, uname or gname", src)
	}
	uid, uname, err := resolveID(src, "uid", "uname", p.Uid, p.Uname, n.uid, n.uname)
	if err != nil {
		return r, err
	}
	gid, gname, err := resolveID(src, "gid", "gname", p.Gid, p.Gname, n.gid, n.gname)
	if err != nil {
		return r, err
	}
	r.Uid, r.Uname, r.Gid, r.Gname = uid, uname, gid, gname
	return r, nil
}

func resolveID(src, idField, nameField string, id *int64, name *string, byName func(string) (int64, bool), byID func(int64) string) (*int, *string, error) {
	switch {
	case id != nil:
		if err := checkID(src+": "+idField, *id); err != nil {
			return nil, nil, err
		}
		v := int(*id)
		if name != nil {
			return &v, name, nil
		}
		s := byID(*id)
		return &v, &s, nil
	case name != nil:
		got, ok := byName(*name)
		if !ok {
			return nil, nil, fmt.Errorf("%s: %s %q is not defined in the image; declare it or give %s", src, nameField, *name, idField)
		}
		v := int(got)
		return &v, name, nil
	}
	return nil, nil, nil
}
