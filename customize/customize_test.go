package customize

import (
	"archive/tar"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/layers"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// parseSpec decodes a spec the way image.ParseSpec does (unknown fields
// are errors).
func parseSpec(t *testing.T, js string) *Spec {
	t.Helper()
	var s Spec
	if err := strictDecode([]byte(js), &s, "spec"); err != nil {
		t.Fatal(err)
	}
	return &s
}

func byName(entries []layers.Entry) map[string]layers.Entry {
	m := map[string]layers.Entry{}
	for _, e := range entries {
		m[e.Name] = e
	}
	return m
}

func TestDatabaseGolden(t *testing.T) {
	s := parseSpec(t, `{
		"users": [
			{"name": "app", "uid": 1000, "description": "the app", "groups": ["wheel", "nobody"]},
			{"name": "svc", "uid": 1001, "gid": 100, "home": "/srv/svc", "shell": "/bin/false", "homeMode": "0750"},
			{"name": "root", "uid": 0, "home": "/root", "createHome": false},
			{"name": "daemon", "uid": 2, "home": "/var/empty"}
		],
		"groups": [
			{"name": "wheel", "gid": 10, "members": ["svc"]},
			{"name": "users", "gid": 100}
		]}`)
	db, err := s.Database()
	if err != nil {
		t.Fatal(err)
	}
	entries := byName(db.Entries())
	for _, f := range []string{"etc/passwd", "etc/group", "etc/shadow", "etc/gshadow", "etc/nsswitch.conf"} {
		t.Run(f, func(t *testing.T) {
			golden := filepath.Join("testdata", "db", filepath.Base(f))
			got := entries[f].Data
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("%s:\n%s\nwant:\n%s", f, got, want)
			}
		})
	}
	for _, c := range []struct {
		name         string
		mode         int64
		uid, gid     int
		uname, gname string
		wantAbsent   bool
	}{
		{name: "home/app", mode: 0o700, uid: 1000, gid: 1000, uname: "app", gname: "app"},
		{name: "srv/svc", mode: 0o750, uid: 1001, gid: 100, uname: "svc", gname: "users"},
		{name: "root", wantAbsent: true},
		{name: "var/empty", mode: 0o555, uname: "root", gname: "root"},
	} {
		e, ok := entries[c.name]
		if ok == c.wantAbsent {
			t.Errorf("/%s present = %v, want %v", c.name, ok, !c.wantAbsent)
			continue
		}
		if ok && (e.Type != tar.TypeDir || e.Mode != c.mode || e.Uid != c.uid || e.Gid != c.gid || e.Uname != c.uname || e.Gname != c.gname) {
			t.Errorf("/%s = %+v, want dir %o %d:%d %s:%s", c.name, e, c.mode, c.uid, c.gid, c.uname, c.gname)
		}
	}
	if e := entries["etc/shadow"]; e.Mode != 0o600 {
		t.Errorf("/etc/shadow mode %o, want 600", e.Mode)
	}
}

func TestEmptyUsersGivesFakeNss(t *testing.T) {
	db, err := parseSpec(t, `{"users": []}`).Database()
	if err != nil {
		t.Fatal(err)
	}
	got := string(byName(db.Entries())["etc/passwd"].Data)
	want := "root:x:0:0:root user:/var/empty:/bin/sh\nnobody:x:65534:65534:nobody:/var/empty:/bin/sh\n"
	if got != want {
		t.Errorf("passwd = %q, want %q", got, want)
	}
	if db, err := parseSpec(t, `{}`).Database(); err != nil || db != nil {
		t.Errorf("no users and no groups: database %v, %v; want none", db, err)
	}
}

// busyboxShell returns a shell for extraCommands.
func shell(t *testing.T) string {
	t.Helper()
	for _, s := range []string{"/bin/sh", "/usr/bin/busybox"} {
		if _, err := os.Stat(s); err == nil {
			return s
		}
	}
	t.Skip("SKIP: no /bin/sh on this machine")
	return ""
}

// testImage is a small image around a fake store path holding a setuid
// candidate, with contents whose /etc/passwd is a symlink into it.
func testImage(t *testing.T) Image {
	t.Helper()
	store := t.TempDir()
	pkg := filepath.Join(store, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-tool")
	for _, d := range []string{"bin", "etc", "share/doc"} {
		if err := os.MkdirAll(filepath.Join(pkg, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(pkg, "bin", "sudo"), []byte("#!/bin/sh\n"), 0o555)
	os.WriteFile(filepath.Join(pkg, "bin", "tool"), []byte("#!/bin/sh\n"), 0o555)
	os.WriteFile(filepath.Join(pkg, "share/doc/README"), []byte("doc"), 0o444)
	os.WriteFile(filepath.Join(pkg, "etc", "passwd"), []byte("root:x:0:0::/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\n"), 0o444)
	os.WriteFile(filepath.Join(pkg, "etc", "group"), []byte("root:x:0:\nwww:x:33:\n"), 0o444)
	return Image{
		Root: func() ([]layers.Entry, error) {
			return []layers.Entry{layers.Dir("etc", 0o555), layers.Symlink("etc/passwd", filepath.Join(pkg, "etc", "passwd")),
				layers.Symlink("etc/group", "../"+filepath.Join(pkg, "etc", "group")[1:]), layers.Dir("bin", 0o555), layers.Symlink("bin/tool", filepath.Join(pkg, "bin", "tool"))}, nil
		},
		StorePaths: []string{pkg},
	}
}

func TestCustomiseErrors(t *testing.T) {
	sh := shell(t)
	pkgPath := func(img Image) string { return img.StorePaths[0] }
	for _, c := range []struct {
		name string
		spec string // %SH% is the shell, %PKG% the image path of the store path
		user string
		want string
	}{
		{"duplicate user name", `{"users": [{"name": "app", "uid": 1000}, {"name": "app", "uid": 1001}]}`, "", `users[1] (app): user name "app" is defined twice`},
		{"duplicate uid", `{"users": [{"name": "app", "uid": 1000}, {"name": "web", "uid": 1000}]}`, "", `users[1] (web): uid 1000 is already the uid of user "app"`},
		{"uid of nobody", `{"users": [{"name": "app", "uid": 65534}]}`, "", `uid 65534 is already the uid of user "nobody"`},
		{"root with another uid", `{"users": [{"name": "root", "uid": 5}]}`, "", `users[0] (root): user "root" has uid 0, not 5`},
		{"root group with another gid", `{"groups": [{"name": "root", "gid": 5}]}`, "", `groups[0] (root): group "root" has gid 0, not 5`},
		{"root declared twice", `{"users": [{"name": "root", "uid": 0}, {"name": "root", "uid": 0}]}`, "", `users[1] (root): user name "root" is defined twice`},
		{"uid out of range", `{"users": [{"name": "app", "uid": 4294967295}]}`, "", `users[0] (app): uid = 4294967295 is out of range (0 to 4294967294)`},
		{"negative uid", `{"users": [{"name": "app", "uid": -1}]}`, "", `uid = -1 is out of range`},
		{"missing uid", `{"users": [{"name": "app"}]}`, "", `users[0] (app): uid is required`},
		{"bad user name", `{"users": [{"name": "a:b", "uid": 1}]}`, "", `users[0].name = "a:b" is not a valid name`},
		{"colon in description", `{"users": [{"name": "app", "uid": 1, "description": "a:b"}]}`, "", `description = "a:b" must not contain ':'`},
		{"relative home", `{"users": [{"name": "app", "uid": 1, "home": "home/app"}]}`, "", `home = "home/app" is not an absolute path`},
		{"bad home mode", `{"users": [{"name": "app", "uid": 1, "homeMode": "0799"}]}`, "", `homeMode = "0799" is not an octal mode`},
		{"undefined extra group", `{"users": [{"name": "app", "uid": 1000, "groups": ["wheel"]}]}`, "", `users[0] (app): group "wheel" is not defined in groups`},
		{"duplicate group", `{"groups": [{"name": "g", "gid": 5}, {"name": "g", "gid": 6}]}`, "", `groups[1] (g): group name "g" is defined twice`},
		{"duplicate gid", `{"groups": [{"name": "g", "gid": 5}, {"name": "h", "gid": 5}]}`, "", `gid 5 of group "h" is already the gid of group "g"`},
		{"gid out of range", `{"groups": [{"name": "g", "gid": 99999999999}]}`, "", `groups[0] (g): gid = 99999999999 is out of range`},
		{"unknown member", `{"groups": [{"name": "g", "gid": 5, "members": ["ghost"]}]}`, "", `group "g": member "ghost" is not a user of the image`},
		{"regex does not compile", `{"perms": [{"path": "/bin", "regex": "(", "mode": "0755"}]}`, "", "compiling the regex of rule perms[0] { path = \"/bin\"; regex = \"(\"; mode = \"0755\"; }: error parsing regexp"},
		{"rule matches nothing", `{"perms": [{"path": "/opt/nothing", "mode": "0755"}]}`, "", `perms[0] { path = "/opt/nothing"; mode = "0755"; } matches nothing in the image`},
		{"store rule matches nothing", `{"perms": [{"path": "%PKG%/bin/nosuch", "uid": 0}]}`, "", `/bin/nosuch"; uid = 0; } matches nothing in the image`},
		{"regex matches nothing", `{"perms": [{"path": "%PKG%", "regex": ".*/nosuch", "uid": 0}]}`, "", `regex = ".*/nosuch"; uid = 0; } matches nothing in the image`},
		{"mode not octal", `{"perms": [{"path": "/etc", "mode": "rwxr-xr-x"}]}`, "", `perms[0].mode = "rwxr-xr-x" is not an octal mode`},
		{"mode too large", `{"perms": [{"path": "/etc", "mode": "17777"}]}`, "", `perms[0].mode = "17777" is larger than 7777`},
		{"rule sets nothing", `{"perms": [{"path": "/etc"}]}`, "", `perms[0] { path = "/etc"; } sets nothing`},
		{"rule uid out of range", `{"perms": [{"path": "/etc", "uid": 4294967296}]}`, "", `uid = 4294967296 is out of range`},
		{"rule unknown uname", `{"perms": [{"path": "/etc", "uname": "ghost"}]}`, "", `uname "ghost" is not defined in the image; declare it or give uid`},
		{"rule path is root", `{"perms": [{"path": "/", "mode": "0755"}]}`, "", `names the image root`},
		{"directory mode not octal", `{"directories": [{"path": "/tmp", "mode": "1778"}]}`, "", `directories[0].mode = "1778" is not an octal mode`},
		{"file mode not octal", `{"files": {"/etc/motd": {"text": "hi", "mode": "abc"}}}`, "", `files."/etc/motd".mode = "abc" is not an octal mode`},
		{"file with text and source", `{"files": {"/etc/motd": {"text": "hi", "source": "/etc/hostname"}}}`, "", `give exactly one of text and source`},
		{"file source missing", `{"files": {"/etc/motd": {"source": "/nonexistent/motd"}}}`, "", `files."/etc/motd": reading source`},
		{"file source a directory", `{"files": {"/etc/motd": {"source": "/tmp"}}}`, "", `files."/etc/motd": source /tmp is not a regular file`},
		{"symlink without a target", `{"symlinks": {"/bin/x": ""}}`, "", `symlinks."/bin/x": the target is empty`},
		{"empty regex", `{"perms": [{"path": "/etc", "regex": "", "mode": "0755"}]}`, "", `regex is empty (leave it out to match the path alone)`},
		{"path leaves root", `{"symlinks": {"/../x": "/y"}}`, "", `leaves the image root`},
		{"declared twice", `{"files": {"/bin/sh": "x"}, "symlinks": {"/bin/sh": "/nix/store/x/bin/sh"}}`, "", `/bin/sh is declared twice: by files."/bin/sh" and by symlinks."/bin/sh"`},
		{"extraCommands fails", `{"extraCommands": "echo making things; echo broken >&2; exit 3", "shell": "%SH%"}`, "", "exit status 3; its output:\nmaking things\nbroken"},
		{"extraCommands without shell", `{"extraCommands": "true"}`, "", `extraCommands needs a shell`},
		{"extraCommands shell missing", `{"extraCommands": "true", "shell": "/nonexistent/sh"}`, "", `running extraCommands with /nonexistent/sh`},
		{"extraCommands clashes", `{"files": {"/etc/motd": "x"}, "extraCommands": "mkdir etc; echo y > etc/motd", "shell": "%SH%"}`, "", `extraCommands made /etc/motd, which the spec also declares`},
		{"user not defined", `{"users": [{"name": "app", "uid": 1000}]}`, "ghost", `config.User = "ghost": user "ghost" is not defined in the image (its users are root, app, nobody); declare it in users`},
		{"group not defined", `{"users": [{"name": "app", "uid": 1000}]}`, "app:ghosts", `config.User = "app:ghosts": group "ghosts" is not defined`},
		{"user of the contents only", `{}`, "app", `user "app" is not defined in the image (its users are root, www)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := testImage(t)
			img.User = c.user
			js := strings.ReplaceAll(strings.ReplaceAll(c.spec, "%SH%", sh), "%PKG%", pkgPath(img))
			res, err := Customise(parseSpec(t, js), img)
			if err == nil {
				t.Fatalf("no error; entries %v", res.Entries)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, c.want)
			}
		})
	}
}

func TestCheckUserAccepts(t *testing.T) {
	for _, c := range []struct{ spec, user string }{
		{`{"users": [{"name": "app", "uid": 1000}]}`, "app"},
		{`{"users": [{"name": "app", "uid": 1000}]}`, "app:app"},
		{`{"users": [{"name": "app", "uid": 1000}]}`, "nobody:nobody"},
		{`{"users": [{"name": "app", "uid": 1000}]}`, "app:0"},
		{`{}`, "1000:1000"},
		{`{}`, "www"}, // from the contents' /etc/passwd (a symlink into a store path)
		{`{}`, "www:www"},
		{`{}`, ""},
	} {
		t.Run(c.user, func(t *testing.T) {
			img := testImage(t)
			img.User = c.user
			if _, err := Customise(parseSpec(t, c.spec), img); err != nil {
				t.Error(err)
			}
		})
	}
}

// applyViaJSON applies rules to entries after a trip through JSON, as in a
// stream script.
func applyViaJSON(t *testing.T, r Rules, entries []layers.Entry) {
	t.Helper()
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var rules Rules
	if err := json.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	if err := rules.Apply(entries); err != nil {
		t.Fatal(err)
	}
}

func TestRules(t *testing.T) {
	img := testImage(t)
	pkg := img.StorePaths[0]
	store := strings.TrimPrefix(pkg, "/") // the image name of the store path: where it is on disk
	js := `{
		"users": [{"name": "app", "uid": 1000}],
		"groups": [{"name": "staff", "gid": 50}],
		"perms": [
			{"path": "` + pkg + `", "regex": ".*/bin/.*", "mode": "0700", "uid": 1000},
			{"path": "` + pkg + `/bin/sudo", "mode": "4755", "uid": 0},
			{"path": "/home/app", "gname": "staff"},
			{"path": "/bin", "regex": "/bin/tool", "mode": "0644", "uid": 1000, "gid": 50, "uname": "custom"}
		]}`
	res, err := Customise(parseSpec(t, js), img)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := img.Root()
	storeEntries, err := layers.StorePath(pkg)
	if err != nil {
		t.Fatal(err)
	}
	entries := layers.Merge(storeEntries, root, res.Entries)
	applyViaJSON(t, res.Rules, entries)
	got := byName(entries)
	for _, c := range []struct {
		name         string
		mode         int64
		uid, gid     int
		uname, gname string
	}{
		{store + "/bin", 0o755, 0, 0, "root", "root"},              // .*/bin/.* needs something after bin/
		{store + "/bin/tool", 0o700, 1000, 0, "app", "root"},       // first rule
		{store + "/bin/sudo", 0o4755, 0, 0, "root", "root"},        // a later rule wins: setuid root
		{store + "/share/doc/README", 0o444, 0, 0, "root", "root"}, // no rule
		{store, 0o755, 0, 0, "root", "root"},                       // .*/bin/.* does not match the store path itself
		{"home/app", 0o700, 1000, 50, "app", "staff"},              // gname alone sets the gid from /etc/group
		{"bin/tool", 0o777, 1000, 50, "custom", "staff"},           // a symlink keeps its mode; uname given wins
		{"etc/passwd", 0o644, 0, 0, "root", "root"},
	} {
		e, ok := got[c.name]
		if !ok {
			t.Errorf("/%s missing", c.name)
			continue
		}
		if e.Mode != c.mode || e.Uid != c.uid || e.Gid != c.gid || e.Uname != c.uname || e.Gname != c.gname {
			t.Errorf("/%s = %o %d:%d %s:%s, want %o %d:%d %s:%s", c.name, e.Mode, e.Uid, e.Gid, e.Uname, e.Gname, c.mode, c.uid, c.gid, c.uname, c.gname)
		}
	}
}

func TestRulesApplyBadRegex(t *testing.T) {
	rs := Rules{{Path: "a", Regex: "(", Source: "perms[0]"}}
	if err := rs.Apply([]layers.Entry{layers.Dir("a", 0o755)}); err == nil || !strings.Contains(err.Error(), "perms[0]") {
		t.Errorf("error %v, want one naming the rule", err)
	}
}

func TestDeclaredEntries(t *testing.T) {
	sh := shell(t)
	src := filepath.Join(t.TempDir(), "tool")
	os.WriteFile(src, []byte("#!/bin/sh\n"), 0o555)
	img := testImage(t)
	img.WorkingDir = "/srv/app"
	js := `{
		"directories": ["/var/empty", {"path": "/tmp", "mode": "1777"}],
		"files": {"/etc/motd": "hello\n", "/usr/bin/tool": {"source": "` + src + `"}, "/etc/secret": {"text": "s", "mode": "0600"}},
		"symlinks": {"/usr/bin/env": "/nix/store/x-coreutils/bin/env"},
		"extraCommands": "mkdir -p tmp var/lib/app && echo state > var/lib/app/state && ln -s state var/lib/app/link && chmod 640 var/lib/app/state",
		"shell": "` + sh + `"}`
	res, err := Customise(parseSpec(t, js), img)
	if err != nil {
		t.Fatal(err)
	}
	got := byName(res.Entries)
	for _, c := range []struct {
		name string
		typ  byte
		mode int64
		data string
		link string
	}{
		{"var/empty", tar.TypeDir, 0o755, "", ""},
		{"tmp", tar.TypeDir, 0o1777, "", ""}, // declared wins over the script's mkdir
		{"etc/motd", tar.TypeReg, 0o644, "hello\n", ""},
		{"etc/secret", tar.TypeReg, 0o600, "s", ""},
		{"usr/bin/tool", tar.TypeReg, 0o555, "#!/bin/sh\n", ""},
		{"usr/bin/env", tar.TypeSymlink, 0o777, "", "/nix/store/x-coreutils/bin/env"},
		{"var/lib/app/state", tar.TypeReg, 0o640, "state\n", ""},
		{"var/lib/app/link", tar.TypeSymlink, 0o777, "", "state"},
		{"srv/app", tar.TypeDir, 0o755, "", ""}, // config.WorkingDir
	} {
		e, ok := got[c.name]
		if !ok {
			t.Errorf("/%s missing", c.name)
			continue
		}
		if e.Type != c.typ || e.Mode != c.mode || string(e.Data) != c.data || e.Linkname != c.link || e.Source != "" || e.Size != int64(len(c.data)) {
			t.Errorf("/%s = %+v, want type %c mode %o data %q link %q, no source", c.name, e, c.typ, c.mode, c.data, c.link)
		}
	}
	// A working directory that exists already is not made again.
	img.WorkingDir = "/etc"
	res, err = Customise(&Spec{}, img)
	if err != nil || len(res.Entries) != 0 {
		t.Errorf("working dir /etc (in the contents): entries %v, %v; want none", res.Entries, err)
	}
}

func TestParseMode(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{{"0755", 0o755, true}, {"4755", 0o4755, true}, {"1777", 0o1777, true}, {"0", 0, true}, {"644", 0o644, true},
		{"", 0, false}, {"8", 0, false}, {"-1", 0, false}, {"+7", 0, false}, {"0o755", 0, false}, {"10000", 0, false}, {"u+x", 0, false}} {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseMode("mode", c.in)
			if (err == nil) != c.ok || got != c.want {
				t.Errorf("parseMode(%q) = %o, %v; want %o, ok %v", c.in, got, err, c.want, c.ok)
			}
		})
	}
}

// TestParsePasswdGroupErrors reads damaged /etc/passwd and /etc/group files
// (from a base image or contents): each error names the line.
func TestParsePasswdGroupErrors(t *testing.T) {
	for _, tt := range []struct {
		name, passwd, group, want string
	}{
		{"passwd fields", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000\n", "", "line 2: 4 fields, not 7"},
		{"passwd empty name", "# users\n:x:0:0::/:/bin/sh\n", "", "line 2: empty name"},
		{"passwd uid", "app:x:one:1000::/home/app:/bin/sh\n", "", `line 1: uid "one" or gid "1000" is not a number`},
		{"group fields", "", "root:x:0\n", "line 1: 3 fields, not 4"},
		{"group gid", "", "\nwheel:x:ten:\n", `line 2: gid "ten" is not a number`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.passwd != "" {
				_, err = ParsePasswd([]byte(tt.passwd))
			} else {
				_, err = ParseGroup([]byte(tt.group))
			}
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestOwnerNames: the uname/gname rule names the owner of every entry, a
// nil name is left as it is, and a later rule still wins.
func TestOwnerNames(t *testing.T) {
	app, staff := "app", "staff"
	for _, tt := range []struct {
		name         string
		rules        Rules
		uname, gname string
	}{
		{"both", Rules{OwnerNames(&app, &staff)}, "app", "staff"},
		{"uname only", Rules{OwnerNames(&app, nil)}, "app", "root"},
		{"a later rule wins", Rules{OwnerNames(&app, &staff), {Path: "a/b", Uname: &staff}}, "staff", "staff"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			entries := []layers.Entry{layers.Dir("a", 0o755), layers.Dir("a/b", 0o755)}
			for i := range entries {
				entries[i].Uname, entries[i].Gname = "root", "root"
			}
			applyViaJSON(t, tt.rules, entries)
			if e := entries[0]; e.Uname != "app" || (tt.gname == "staff" && e.Gname != "staff") {
				t.Errorf("/a owner %s:%s", e.Uname, e.Gname)
			}
			if e := entries[1]; e.Uname != tt.uname || e.Gname != tt.gname {
				t.Errorf("/a/b owner %s:%s, want %s:%s", e.Uname, e.Gname, tt.uname, tt.gname)
			}
		})
	}
}
