package customize

import (
	"strings"
	"testing"
)

func FuzzParsePasswd(f *testing.F) {
	f.Add([]byte("root:x:0:0:root user:/var/empty:/bin/sh\nnobody:x:65534:65534:nobody:/var/empty:/bin/sh\n"))
	f.Add([]byte("# comment\n\nwww:x:33:33::/var/www:/bin/false\r\n"))
	f.Add([]byte("bad:x:a:0::/:/bin/sh\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		users, err := ParsePasswd(data)
		if err != nil {
			return
		}
		for _, u := range users {
			if u.Name == "" || strings.ContainsAny(u.Name+u.Home+u.Shell+u.Gecos, ":\n") {
				t.Fatalf("parsed an impossible account %+v", u)
			}
		}
	})
}

func FuzzParseGroup(f *testing.F) {
	f.Add([]byte("root:x:0:\nwheel:x:10:app,svc\n"))
	f.Add([]byte("g:x:1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		groups, err := ParseGroup(data)
		if err != nil {
			return
		}
		for _, g := range groups {
			if g.Name == "" {
				t.Fatalf("parsed a group without a name %+v", g)
			}
		}
	})
}

// FuzzSpec decodes a spec and builds its declared entries: whatever it
// accepts must produce a user database that reads back with the same users.
func FuzzSpec(f *testing.F) {
	f.Add([]byte(`{"users": [{"name": "app", "uid": 1000, "groups": ["wheel"]}], "groups": [{"name": "wheel", "gid": 10}]}`))
	f.Add([]byte(`{"users": [], "directories": ["/tmp", {"path": "/var/empty", "mode": "0555"}], "files": {"/etc/motd": "hi"}}`))
	f.Add([]byte(`{"perms": [{"path": "/etc", "regex": ".*", "mode": "0644", "uid": 1}], "symlinks": {"/bin/sh": "/nix/store/x/bin/sh"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Spec
		if err := strictDecode(data, &s, "spec"); err != nil {
			return
		}
		s.ExtraCommands = nil // never run a shell here
		for i := range s.Files {
			if f := s.Files[i]; f.Source != nil {
				return // no reading of arbitrary files
			}
		}
		res, err := Customise(&s, Image{})
		if err != nil {
			return
		}
		db, _ := s.Database()
		if db == nil {
			return
		}
		passwd := byName(res.Entries)["etc/passwd"].Data
		users, err := ParsePasswd(passwd)
		if err != nil {
			t.Fatalf("the written /etc/passwd does not parse: %v\n%s", err, passwd)
		}
		if len(users) != len(db.Users) {
			t.Fatalf("/etc/passwd has %d users, the database %d", len(users), len(db.Users))
		}
		if _, err := ParseGroup(byName(res.Entries)["etc/group"].Data); err != nil {
			t.Fatalf("the written /etc/group does not parse: %v", err)
		}
	})
}
