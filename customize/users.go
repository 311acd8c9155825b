package customize

import (
	"bytes"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/nixlayer/nixlayer/layers"
)

// Account is one line of /etc/passwd.
type Account struct {
	Name  string
	Uid   int64
	Gid   int64
	Gecos string
	Home  string
	Shell string
}

// GroupEntry is one line of /etc/group.
type GroupEntry struct {
	Name    string
	Gid     int64
	Members []string
}

// Database is the image's users and groups, in the order they are written.
type Database struct {
	Users  []Account
	Groups []GroupEntry
	homes  []layers.Entry
}

// The accounts fakeNss provides, which every user database has.
var (
	rootAccount   = Account{Name: "root", Uid: 0, Gid: 0, Gecos: "root user", Home: "/var/empty", Shell: "/bin/sh"}
	nobodyAccount = Account{Name: "nobody", Uid: 65534, Gid: 65534, Gecos: "nobody", Home: "/var/empty", Shell: "/bin/sh"}
	rootGroup     = GroupEntry{Name: "root", Gid: 0}
	nobodyGroup   = GroupEntry{Name: "nobody", Gid: 65534}
)

// nameRE is what useradd accepts by default (NAME_REGEX), plus upper case.
var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,30}\$?$`)

func checkName(field, name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%s = %q is not a valid name (a letter or _, then up to 30 letters, digits, _ . or -)", field, name)
	}
	return nil
}

// checkText rejects what would break a colon-separated line.
func checkText(field, s string) error {
	if strings.ContainsAny(s, ":\n\r\x00") {
		return fmt.Errorf("%s = %q must not contain ':' or a line break", field, s)
	}
	return nil
}

// checkDeclared checks the name and id of entry i of the spec's list
// ("groups" or "users") of kind ("group" or "user") whose id is called
// idName, records the name in seen, and returns the entry's field name for
// later messages: "<list>[<i>] (<name>)".
func checkDeclared(list, kind, idName string, i int, name string, id *int64, seen map[string]bool) (string, error) {
	field := fmt.Sprintf("%s[%d]", list, i)
	if err := checkName(field+".name", name); err != nil {
		return "", err
	}
	field = fmt.Sprintf("%s[%d] (%s)", list, i, name)
	if seen[name] {
		return "", fmt.Errorf("%s: %s name %q is defined twice", field, kind, name)
	}
	seen[name] = true
	if id == nil {
		return "", fmt.Errorf("%s: %s is required", field, idName)
	}
	if err := checkID(field+": "+idName, *id); err != nil {
		return "", err
	}
	return field, nil
}

// Database builds the user database the spec declares, or returns nil
// when the spec declares neither users nor groups. Root (0) and nobody
// (65534) are always there; a user or group named root or nobody with
// their id replaces the default one.
func (s *Spec) Database() (*Database, error) {
	if s.Users == nil && s.Groups == nil {
		return nil, nil
	}
	b := &dbBuilder{
		groups:    []GroupEntry{rootGroup},
		gidOf:     map[string]int{"root": 0},
		nameOfGid: map[int64]string{0: "root", 65534: "nobody"},
		users:     []Account{rootAccount},
		byName:    map[string]int{"root": 0},
		nameOfUid: map[int64]string{0: "root", 65534: "nobody"},
	}
	seenGroup := map[string]bool{}
	for i, g := range s.Groups {
		field, err := checkDeclared("groups", "group", "gid", i, g.Name, g.Gid, seenGroup)
		if err != nil {
			return nil, err
		}
		if err := b.addGroup(field, GroupEntry{Name: g.Name, Gid: *g.Gid, Members: append([]string(nil), g.Members...)}); err != nil {
			return nil, err
		}
	}
	seenUser := map[string]bool{}
	for i, u := range s.Users {
		field, err := checkDeclared("users", "user", "uid", i, u.Name, u.Uid, seenUser)
		if err != nil {
			return nil, err
		}
		if err := b.addUser(field, u); err != nil {
			return nil, err
		}
	}
	return b.finish(s.Users)
}

// dbBuilder collects the accounts and groups of a Database as the spec
// declares them, with the indexes that catch clashes.
type dbBuilder struct {
	db        Database
	groups    []GroupEntry
	gidOf     map[string]int // group name → index in groups
	nameOfGid map[int64]string
	users     []Account
	byName    map[string]int // user name → index in users
	nameOfUid map[int64]string
}

// addGroup adds g, or replaces a default group (root's, a user's own) of
// the same name and gid.
func (b *dbBuilder) addGroup(field string, g GroupEntry) error {
	if i, ok := b.gidOf[g.Name]; ok {
		// A name declared twice is caught by checkDeclared: this one is
		// root's default, or a group a user's gid would make.
		if g.Gid != b.groups[i].Gid {
			return fmt.Errorf("%s: group %q has gid %d, not %d", field, g.Name, b.groups[i].Gid, g.Gid)
		}
		b.groups[i] = g
		return nil
	}
	if other, ok := b.nameOfGid[g.Gid]; ok && other != g.Name {
		return fmt.Errorf("%s: gid %d of group %q is already the gid of group %q", field, g.Gid, g.Name, other)
	}
	b.gidOf[g.Name] = len(b.groups)
	b.nameOfGid[g.Gid] = g.Name
	b.groups = append(b.groups, g)
	return nil
}

// addUser adds the account of u, its primary group when none has its gid,
// its memberships and its home.
func (b *dbBuilder) addUser(field string, u User) error {
	a, err := account(field, u)
	if err != nil {
		return err
	}
	if j, ok := b.byName[a.Name]; ok {
		// Root's default: a name declared twice is caught by checkDeclared.
		if a.Uid != b.users[j].Uid {
			return fmt.Errorf("%s: user %q has uid %d, not %d", field, a.Name, b.users[j].Uid, a.Uid)
		}
	} else if other, ok := b.nameOfUid[a.Uid]; ok && other != a.Name {
		return fmt.Errorf("%s: uid %d is already the uid of user %q", field, a.Uid, other)
	}
	if a.Gid, err = b.primaryGid(field, u, a); err != nil {
		return err
	}
	if _, ok := b.nameOfGid[a.Gid]; !ok {
		if err := b.addGroup(field, GroupEntry{Name: a.Name, Gid: a.Gid}); err != nil {
			return fmt.Errorf("%s: making the user's group (gid %d): %w", field, a.Gid, err)
		}
	}
	for _, g := range u.Groups {
		j, ok := b.gidOf[g]
		if !ok && g == "nobody" {
			continue // added by finish with its member
		}
		if !ok {
			return fmt.Errorf("%s: group %q is not defined in groups", field, g)
		}
		b.groups[j].Members = appendNew(b.groups[j].Members, a.Name)
	}
	if j, ok := b.byName[a.Name]; ok {
		b.users[j] = a
	} else {
		b.byName[a.Name] = len(b.users)
		b.nameOfUid[a.Uid] = a.Name
		b.users = append(b.users, a)
	}
	home, err := homeEntry(field, u, a, b.groups, b.nameOfGid)
	if err != nil {
		return err
	}
	if home != nil {
		b.db.homes = append(b.db.homes, *home)
	}
	return nil
}

// account returns u's account with its defaults (home, shell), checked.
func account(field string, u User) (Account, error) {
	a := Account{Name: u.Name, Uid: *u.Uid, Gecos: u.Description, Home: u.Home, Shell: u.Shell}
	switch {
	case a.Home != "":
	case a.Name == "root" || a.Name == "nobody":
		a.Home = "/var/empty"
	default:
		a.Home = "/home/" + u.Name
	}
	if a.Shell == "" {
		a.Shell = "/bin/sh"
	}
	for _, t := range []struct{ f, v string }{{"description", a.Gecos}, {"home", a.Home}, {"shell", a.Shell}} {
		if err := checkText(field+": "+t.f, t.v); err != nil {
			return Account{}, err
		}
	}
	if !path.IsAbs(a.Home) {
		return Account{}, fmt.Errorf("%s: home = %q is not an absolute path", field, a.Home)
	}
	a.Home = path.Clean(a.Home)
	return a, nil
}

// primaryGid returns the gid of a's primary group: u's gid, root's 0, the
// gid of a group named after the user, or else the uid.
func (b *dbBuilder) primaryGid(field string, u User, a Account) (int64, error) {
	switch {
	case u.Gid != nil:
		if err := checkID(field+": gid", *u.Gid); err != nil {
			return 0, err
		}
		return *u.Gid, nil
	case a.Name == "root":
		return 0, nil
	}
	if j, ok := b.gidOf[a.Name]; ok {
		return b.groups[j].Gid, nil
	}
	return a.Uid, nil
}

// finish adds nobody (user and group, with the users that name the group)
// unless declared, and checks that every member is a user.
func (b *dbBuilder) finish(users []User) (*Database, error) {
	if _, ok := b.byName["nobody"]; !ok {
		b.users = append(b.users, nobodyAccount)
	}
	if _, ok := b.gidOf["nobody"]; !ok {
		ng := nobodyGroup
		for _, u := range users {
			for _, g := range u.Groups {
				if g == "nobody" {
					ng.Members = appendNew(ng.Members, u.Name)
				}
			}
		}
		b.groups = append(b.groups, ng)
	}
	for _, g := range b.groups {
		for _, m := range g.Members {
			if _, ok := b.byName[m]; !ok && m != "nobody" {
				return nil, fmt.Errorf("group %q: member %q is not a user of the image", g.Name, m)
			}
		}
	}
	b.db.Users, b.db.Groups = b.users, b.groups
	return &b.db, nil
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// homeEntry returns the home directory of a user, owned by the user, or
// nil when none is to be made.
func homeEntry(field string, u User, a Account, groups []GroupEntry, nameOfGid map[int64]string) (*layers.Entry, error) {
	if (u.CreateHome != nil && !*u.CreateHome) || a.Home == "/" || a.Home == "/var/empty" {
		return nil, nil
	}
	mode := int64(0o700)
	if u.HomeMode != "" {
		m, err := parseMode(field+": homeMode", u.HomeMode)
		if err != nil {
			return nil, err
		}
		mode = m
	}
	name, err := layers.CleanName(a.Home)
	if err != nil {
		return nil, fmt.Errorf("%s: home: %w", field, err)
	}
	e := layers.Dir(name, mode)
	e.Uid, e.Gid, e.Uname, e.Gname = int(a.Uid), int(a.Gid), a.Name, nameOfGid[a.Gid]
	return &e, nil
}

// Entries returns the files of the database (/etc/passwd, /etc/group,
// /etc/shadow and /etc/gshadow with locked passwords, /etc/nsswitch.conf),
// /var/empty, and the users' home directories.
func (db *Database) Entries() []layers.Entry {
	var passwd, group, shadow, gshadow bytes.Buffer
	for _, u := range db.Users {
		fmt.Fprintf(&passwd, "%s:x:%d:%d:%s:%s:%s\n", u.Name, u.Uid, u.Gid, u.Gecos, u.Home, u.Shell)
		fmt.Fprintf(&shadow, "%s:!:::::::\n", u.Name)
	}
	for _, g := range db.Groups {
		members := strings.Join(g.Members, ",")
		fmt.Fprintf(&group, "%s:x:%d:%s\n", g.Name, g.Gid, members)
		fmt.Fprintf(&gshadow, "%s:!::%s\n", g.Name, members)
	}
	entries := []layers.Entry{
		layers.File("etc/passwd", 0o644, passwd.Bytes()),
		layers.File("etc/group", 0o644, group.Bytes()),
		layers.File("etc/shadow", 0o600, shadow.Bytes()),
		layers.File("etc/gshadow", 0o600, gshadow.Bytes()),
		layers.File("etc/nsswitch.conf", 0o644, []byte(nsswitch)),
		layers.Dir("var/empty", 0o555),
	}
	return append(entries, db.homes...)
}

// nsswitch makes glibc look users and hosts up in files (and hosts in DNS).
const nsswitch = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"

// ParsePasswd reads /etc/passwd. Blank lines and comments are skipped; a
// line that is not seven colon-separated fields with numeric ids is an
// error naming its line number.
func ParsePasswd(data []byte) ([]Account, error) {
	var out []Account
	err := eachLine(data, 7, func(n int, f []string) error {
		uid, err1 := strconv.ParseInt(f[2], 10, 64)
		gid, err2 := strconv.ParseInt(f[3], 10, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("line %d: uid %q or gid %q is not a number", n, f[2], f[3])
		}
		out = append(out, Account{Name: f[0], Uid: uid, Gid: gid, Gecos: f[4], Home: f[5], Shell: f[6]})
		return nil
	})
	return out, err
}

// ParseGroup reads /etc/group, as ParsePasswd reads /etc/passwd.
func ParseGroup(data []byte) ([]GroupEntry, error) {
	var out []GroupEntry
	err := eachLine(data, 4, func(n int, f []string) error {
		gid, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return fmt.Errorf("line %d: gid %q is not a number", n, f[2])
		}
		var members []string
		if f[3] != "" {
			members = strings.Split(f[3], ",")
		}
		out = append(out, GroupEntry{Name: f[0], Gid: gid, Members: members})
		return nil
	})
	return out, err
}

func eachLine(data []byte, fields int, fn func(n int, f []string) error) error {
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != fields {
			return fmt.Errorf("line %d: %d fields, not %d", n+1, len(f), fields)
		}
		if f[0] == "" {
			return fmt.Errorf("line %d: empty name", n+1)
		}
		if err := fn(n+1, f); err != nil {
			return err
		}
	}
	return nil
}
