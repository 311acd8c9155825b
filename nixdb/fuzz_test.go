package nixdb

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadDB feeds arbitrary bytes as a base image's db.sqlite: ReadDB must
// return paths or an error, never panic or hang.
func FuzzReadDB(f *testing.F) {
	b, err := Encode(context.Background(), fixedGraph(f), 1)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:100])
	// Databases that run their own SQL, refused by the schema check.
	for _, sqls := range [][]string{
		{nixRefs, `create view ValidPaths as with recursive r(id, path, hash, registrationTime, deriver, narSize, ultimate, sigs, ca) as (select 1, 'a', 'h', 0, null, 0, 0, null, null union all select id+1, path, hash, registrationTime, deriver, narSize, ultimate, sigs, ca from r) select * from r`},
		{nixRefs, `create table ValidPaths (id integer primary key, path text, hash text generated always as (zeroblob(100000000)) virtual, registrationTime integer, deriver text, narSize integer, ultimate integer, sigs text, ca text)`, `insert into ValidPaths (id, path) values (1, '/nix/store/x')`},
	} {
		db, err := os.ReadFile(hostileDB(f, sqls...))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(db)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		file := filepath.Join(dir, "db.sqlite")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "schema"), []byte("10"), 0o644); err != nil {
			t.Fatal(err)
		}
		infos, err := ReadDB(file)
		if err == nil {
			for _, p := range infos {
				if p.Path == "" {
					t.Errorf("ReadDB returned an empty path without an error")
				}
			}
		}
	})
}
