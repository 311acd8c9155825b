package nixdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nixlayer/nixlayer/registration"
)

// fixedGraph is a small closure with a self-reference, a deriver and hashes
// in three encodings.
func fixedGraph(t testing.TB) *registration.Graph {
	t.Helper()
	s := registration.DefaultStoreDir
	a, b, c := storePath(s, 'a', "app-1.0"), storePath(s, 'b', "lib-2.0"), storePath(s, 'c', "data")
	g, err := registration.NewGraph(s, []registration.PathInfo{
		{Path: a, NarHash: "sha256:0qw43abhxc3y9mkrgagb5i3d9ls9czk94hn6yw4g4qxv2wcig1l2", NarSize: 2016,
			Deriver: storePath(s, 'd', "app-1.0.drv"), References: []string{a, b, c}},
		{Path: b, NarHash: "sha256:2ca0b8ce996f865db37619bfe91023559305aad8158042fc6ddb0ef1d43c5b67", NarSize: 120,
			References: []string{c}},
		{Path: c, NarHash: "sha256-LKC4zplvhl2zdhm/6RAjVZMFqtgVgEL8bdsO8dQ8W2c=", NarSize: 120},
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// goldenDB is the sha256 of Encode(fixedGraph, 1700000000). It changes only
// if the schema, the insertion order or the SQLite library changes.
const goldenDB = "6cf258a1ccf2f29e2180355118a4e1795e0a9a3a8ede5b7408a2dbae1ab30d90"

func writeDBDir(t *testing.T, db []byte, schema string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "db.sqlite"), db, 0o644); err != nil {
		t.Fatal(err)
	}
	if schema != "" {
		if err := os.WriteFile(filepath.Join(dir, "schema"), []byte(schema), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "db.sqlite")
}

func TestEncodeDeterministic(t *testing.T) {
	g := fixedGraph(t)
	one, err := Encode(context.Background(), g, 1700000000)
	if err != nil {
		t.Fatal(err)
	}
	two, err := Encode(context.Background(), g, 1700000000)
	if err != nil {
		t.Fatal(err)
	}
	if string(one) != string(two) {
		t.Fatal("two encodings of the same graph differ")
	}
	sum := sha256.Sum256(one)
	if got := hex.EncodeToString(sum[:]); got != goldenDB {
		t.Errorf("sha256 of the database = %s, want %s", got, goldenDB)
	}
	other, err := Encode(context.Background(), g, 1700000001)
	if err != nil {
		t.Fatal(err)
	}
	if string(one) == string(other) {
		t.Error("the registration time does not reach the database")
	}
}

// TestSchemaMatchesNix compares sqlite_master of an encoded database with
// the one of a database Nix 2.8 created itself (testdata, dumped with the
// sqlite3 shell from a fresh `nix-store --store local?root=… --load-db`).
func TestSchemaMatchesNix(t *testing.T) {
	g, err := registration.NewGraph("", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encode(context.Background(), g, 0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/schema-nix-2.8.txt")
	if err != nil {
		t.Fatal(err)
	}
	got := SchemaDump(t, writeDBDir(t, b, ""))
	if got != string(want) {
		t.Errorf("schema differs from Nix's:\n--- got\n%s\n--- want\n%s", got, want)
	}
}

// SchemaDump prints sqlite_master as the sqlite3 shell prints
// select type||' '||name||' '||tbl_name||' '||rootpage||char(10)||coalesce(sql,”)||char(10).
func SchemaDump(t *testing.T, file string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("select type||' '||name||' '||tbl_name||' '||rootpage||char(10)||coalesce(sql,'')||char(10) from sqlite_master order by rowid")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sb strings.Builder
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		sb.WriteString(s + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

// encodedDB writes Encode(fixedGraph, registrationTime) with schema 10 to
// a temporary directory and returns the graph and the db.sqlite file.
func encodedDB(t *testing.T, registrationTime int64) (*registration.Graph, string) {
	t.Helper()
	g := fixedGraph(t)
	b, err := Encode(context.Background(), g, registrationTime)
	if err != nil {
		t.Fatal(err)
	}
	return g, writeDBDir(t, b, "10")
}

func TestEncodeReadDBRoundTrip(t *testing.T) {
	g, file := encodedDB(t, 1700000000)
	infos, err := ReadDB(file)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]registration.PathInfo, g.Len())
	for i, p := range g.Paths() {
		p.NarHash, err = registration.NarHashBase16(p.NarHash)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = p
	}
	if !reflect.DeepEqual(infos, want) {
		t.Errorf("ReadDB = %+v\nwant %+v", infos, want)
	}

	// The raw rows are what Nix itself writes: ids in path order, base16
	// hashes, NULL for what is unknown, one Refs row per reference.
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var nulls, regTimes, refs int
	if err := db.QueryRow(`select
		(select count(*) from ValidPaths where ultimate is null and sigs is null and ca is null),
		(select count(*) from ValidPaths where registrationTime = 1700000000),
		(select count(*) from Refs)`).Scan(&nulls, &regTimes, &refs); err != nil {
		t.Fatal(err)
	}
	if nulls != 3 || regTimes != 3 || refs != 4 {
		t.Errorf("rows: %d with NULL ultimate/sigs/ca, %d with the registration time, %d refs; want 3, 3, 4", nulls, regTimes, refs)
	}
	var deriver sql.NullString
	if err := db.QueryRow("select deriver from ValidPaths where id = 2").Scan(&deriver); err != nil {
		t.Fatal(err)
	}
	if deriver.Valid {
		t.Errorf("an unknown deriver is stored as %q, want NULL", deriver.String)
	}
}

func TestReadDBErrors(t *testing.T) {
	g := fixedGraph(t)
	b, err := Encode(context.Background(), g, 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		db      []byte
		schema  string
		wantErr string
	}{
		{"older schema", b, "7", "schema version 7"},
		{"newer schema", b, "11\n", "schema version 11"},
		{"no schema file", b, "", "schema"},
		{"corrupt schema file", b, "ten", "schema"},
		{"not a database", []byte("this is not SQLite, it is a text file of some length.............................................................."), "10", "db.sqlite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeDBDir(t, tt.db, tt.schema)
			_, err := ReadDB(file)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), filepath.Dir(file)) {
				t.Fatalf("ReadDB error = %v, want one naming %s and containing %q", err, filepath.Dir(file), tt.wantErr)
			}
		})
	}
}

func TestReadGraph(t *testing.T) {
	g, file := encodedDB(t, 0)
	got, err := ReadGraph(file, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Len() != g.Len() {
		t.Fatalf("ReadGraph has %d paths, want %d", got.Len(), g.Len())
	}

	// Remove a referenced path behind SQLite's back (no foreign keys): the
	// reference now dangles and must be reported, not dropped.
	db, err := sql.Open("sqlite", "file:"+file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("delete from ValidPaths where path = ?", g.Paths()[2].Path); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadGraph(file, ""); err == nil || !strings.Contains(err.Error(), "refers to id 3") || !strings.Contains(err.Error(), file) {
		t.Fatalf("ReadGraph of a database with a dangling reference: error = %v", err)
	}
}

func TestEncodeErrors(t *testing.T) {
	s := registration.DefaultStoreDir
	p := storePath(s, 'a', "x")
	tests := []struct {
		name, hash, wantErr string
	}{
		{"no hash", "", "no narHash"},
		{"not a hash", "sha256:zzzz", "sha256:zzzz"},
		{"truncated base16", "sha256:2ca0b8ce996f865db37619bfe9", "sha256:2ca0b8ce996f865db37619bfe9"},
		{"sha1", "sha1:0000000000000000000000000000000000000000", "sha1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := registration.NewGraph(s, []registration.PathInfo{{Path: p, NarHash: tt.hash, NarSize: 1}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = Encode(context.Background(), g, 0)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), p) {
				t.Fatalf("Encode error = %v, want one naming %s and containing %q", err, p, tt.wantErr)
			}
		})
	}
}
