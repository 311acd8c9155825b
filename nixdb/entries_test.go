package nixdb

import (
	"archive/tar"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/layers"
	"github.com/nixlayer/nixlayer/registration"
)

// describe renders an entry as one line: name, type, mode, owner, target.
func describe(e layers.Entry) string {
	s := fmt.Sprintf("%s %c %o %d:%d %s:%s", e.Name, e.Type, e.Mode, e.Uid, e.Gid, e.Uname, e.Gname)
	if e.Type == tar.TypeSymlink {
		s += " -> " + e.Linkname
	}
	return s
}

func TestEntries(t *testing.T) {
	g := fixedGraph(t)
	app := g.Paths()[0].Path
	db, err := Encode(context.Background(), g, 42)
	if err != nil {
		t.Fatal(err)
	}
	base := app[len("/nix/store/"):]
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"root", Options{RegistrationTime: 42, Roots: []string{app}}, []string{
			"nix 5 755 0:0 root:root",
			"nix/store 5 755 0:0 root:root",
			"nix/var 5 755 0:0 root:root",
			"nix/var/nix 5 755 0:0 root:root",
			"nix/var/nix/db 5 755 0:0 root:root",
			"nix/var/nix/db/db.sqlite 0 644 0:0 root:root",
			"nix/var/nix/db/schema 0 644 0:0 root:root",
			"nix/var/nix/gcroots 5 755 0:0 root:root",
			"nix/var/nix/gcroots/docker 5 755 0:0 root:root",
			"nix/var/nix/gcroots/docker/" + base + " 2 777 0:0 root:root -> " + app,
			"nix/var/nix/gcroots/per-user 5 755 0:0 root:root",
			"nix/var/nix/gcroots/per-user/root 5 755 0:0 root:root",
			"nix/var/nix/gcroots/profiles 2 777 0:0 root:root -> /nix/var/nix/profiles",
			"nix/var/nix/profiles 5 755 0:0 root:root",
			"nix/var/nix/profiles/per-user 5 755 0:0 root:root",
			"nix/var/nix/profiles/per-user/root 5 755 0:0 root:root",
			"nix/var/nix/temproots 5 755 0:0 root:root",
		}},
		{"user", Options{RegistrationTime: 42, Uid: 1000, Gid: 100, Uname: "alice", Gname: "users"}, []string{
			"nix 5 755 0:0 root:root",
			"nix/store 5 755 1000:100 alice:users",
			"nix/var 5 755 1000:100 alice:users",
			"nix/var/nix 5 755 1000:100 alice:users",
			"nix/var/nix/db 5 755 1000:100 alice:users",
			"nix/var/nix/db/db.sqlite 0 644 1000:100 alice:users",
			"nix/var/nix/db/schema 0 644 1000:100 alice:users",
			"nix/var/nix/gcroots 5 755 1000:100 alice:users",
			"nix/var/nix/gcroots/docker 5 755 1000:100 alice:users",
			"nix/var/nix/gcroots/per-user 5 755 1000:100 alice:users",
			"nix/var/nix/gcroots/per-user/alice 5 755 1000:100 alice:users",
			"nix/var/nix/gcroots/profiles 2 777 1000:100 alice:users -> /nix/var/nix/profiles",
			"nix/var/nix/profiles 5 755 1000:100 alice:users",
			"nix/var/nix/profiles/per-user 5 755 1000:100 alice:users",
			"nix/var/nix/profiles/per-user/alice 5 755 1000:100 alice:users",
			"nix/var/nix/temproots 5 755 1000:100 alice:users",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := Entries(g, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, describe(e))
				switch e.Name {
				case "nix/var/nix/db/schema":
					if string(e.Data) != "10" || e.Size != 2 {
						t.Errorf("schema file holds %q (size %d), want \"10\"", e.Data, e.Size)
					}
				case "nix/var/nix/db/db.sqlite":
					if string(e.Data) != string(db) {
						t.Error("db.sqlite is not Encode(g, RegistrationTime)")
					}
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestEntriesErrors(t *testing.T) {
	g := fixedGraph(t)
	stranger := storePath("/nix/store", 'z', "stranger")
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"root outside the closure", Options{Roots: []string{stranger}}, stranger},
		{"user without a name", Options{Uid: 1000}, "user 1000 needs a user name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Entries(g, tt.opts); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Entries error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestEntriesNestedStore checks that a store directory below another
// directory gets an entry for each of its parents.
func TestEntriesNestedStore(t *testing.T) {
	const s = "/opt/nix/store"
	g, err := registration.NewGraph(s, []registration.PathInfo{{Path: storePath(s, 'a', "app"),
		NarHash: "sha256:2ca0b8ce996f865db37619bfe91023559305aad8158042fc6ddb0ef1d43c5b67", NarSize: 120}})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := Entries(g, Options{RegistrationTime: 1})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, e := range entries {
		names[e.Name]++
	}
	for _, want := range []string{"opt", "opt/nix", "opt/nix/store", "nix", "nix/var/nix/db/db.sqlite"} {
		if names[want] != 1 {
			t.Errorf("%d entries named %s, want 1", names[want], want)
		}
	}
}
