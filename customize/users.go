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
	db := &Database{}
	groups := []GroupEntry{rootGroup}
	gidOf := map[string]int{"root": 0}
	seenGroup := map[string]bool{}
	nameOfGid := map[int64]string{0: "root", 65534: "nobody"}
	addGroup := func(field string, g GroupEntry) error {
		if i, ok := gidOf[g.Name]; ok {
			// A name declared twice is caught by checkDeclared: this one is
			// root's default, or a group a user's gid would make.
			if g.Gid != groups[i].Gid {
				return fmt.Errorf("%s: group %q has gid %d, not %d", field, g.Name, groups[i].Gid, g.Gid)
			}
			groups[i] = g
			return nil
		}
		if other, ok := nameOfGid[g.Gid]; ok && other != g.Name {
			return fmt.Errorf("%s: gid %d of group %q is already the gid of group %q", field, g.Gid, g.Name, other)
		}
		gidOf[g.Name] = len(groups)
		nameOfGid[g.Gid] = g.Name
		groups = append(groups, g)
		return nil
	}
	for i, g := range s.Groups {
		field, err := checkDeclared("groups", "group", "gid", i, g.Name, g.Gid, seenGroup)
		if err != nil {
			return nil, err
		}
		if err := addGroup(field, GroupEntry{Name: g.Name, Gid: *g.Gid, Members: append([]string(nil), g.Members...)}); err != nil {
			return nil, err
		}
	}

	users := []Account{rootAccount}
	byName := map[string]int{"root": 0}
	nameOfUid := map[int64]string{0: "root", 65534: "nobody"}
	seenUser := map[string]bool{}
	for i, u := range s.Users {
		field, err := checkDeclared("users", "user", "uid", i, u.Name, u.Uid, seenUser)
		if err != nil {
			return nil, err
		}
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
				return nil, err
			}
		}
		if !path.IsAbs(a.Home) {
			return nil, fmt.Errorf("%s: home = %q is not an absolute path", field, a.Home)
		}
		a.Home = path.Clean(a.Home)
		if j, ok := byName[a.Name]; ok {
			// Root's default: a name declared twice is caught by checkDeclared.
			if a.Uid != users[j].Uid {
				return nil, fmt.Errorf("%s: user %q has uid %d, not %d", field, a.Name, users[j].Uid, a.Uid)
			}
		} else if other, ok := nameOfUid[a.Uid]; ok && other != a.Name {
			return nil, fmt.Errorf("%s: uid %d is already the uid of user %q", field, a.Uid, other)
		}
		// The primary group.
		switch {
		case u.Gid != nil:
			if err := checkID(field+": gid", *u.Gid); err != nil {
				return nil, err
			}
			a.Gid = *u.Gid
		case a.Name == "root":
			a.Gid = 0
		default:
			if j, ok := gidOf[a.Name]; ok {
				a.Gid = groups[j].Gid
			} else {
				a.Gid = a.Uid
			}
		}
		if _, ok := nameOfGid[a.Gid]; !ok {
			if err := addGroup(field, GroupEntry{Name: a.Name, Gid: a.Gid}); err != nil {
				return nil, fmt.Errorf("%s: making the user's group (gid %d): %w", field, a.Gid, err)
			}
		}
		for _, g := range u.Groups {
			j, ok := gidOf[g]
			if !ok && g == "nobody" {
				continue // added below with its member
			}
			if !ok {
				return nil, fmt.Errorf("%s: group %q is not defined in groups", field, g)
			}
			groups[j].Members = appendNew(groups[j].Members, a.Name)
		}
		if j, ok := byName[a.Name]; ok {
			users[j] = a
		} else {
			byName[a.Name] = len(users)
			nameOfUid[a.Uid] = a.Name
			users = append(users, a)
		}
		if home, err := homeEntry(field, u, a, groups, nameOfGid); err != nil {
			return nil, err
		} else if home != nil {
			db.homes = append(db.homes, *home)
		}
	}
	if _, ok := byName["nobody"]; !ok {
		users = append(users, nobodyAccount)
	}
	if _, ok := gidOf["nobody"]; !ok {
		ng := nobodyGroup
		for _, u := range s.Users {
			for _, g := range u.Groups {
				if g == "nobody" {
					ng.Members = appendNew(ng.Members, u.Name)
				}
			}
		}
		groups = append(groups, ng)
	}
	for _, g := range groups {
		for _, m := range g.Members {
			if _, ok := byName[m]; !ok && m != "nobody" {
				return nil, fmt.Errorf("group %q: member %q is not a user of the image", g.Name, m)
			}
		}
	}
	db.Users, db.Groups = users, groups
	return db, nil
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
