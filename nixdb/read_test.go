package nixdb

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostileDB makes a database in a new directory with the schema file
// saying 10 by running sqls, and returns its path.
func hostileDB(t testing.TB, sqls ...string) string {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "db.sqlite")
	db, err := sql.Open("sqlite", "file:"+file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range sqls {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "schema"), []byte("10"), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

const nixRefs = `create table Refs (referrer integer not null, reference integer not null, primary key (referrer, reference))`
const nixValidPaths = `create table ValidPaths (id integer primary key autoincrement not null, path text unique not null, hash text not null, registrationTime integer not null, deriver text, narSize integer, ultimate integer, sigs text, ca text)`

// TestReadDBHostile: a base image's db.sqlite that runs its own SQL (a
// recursive view, a zeroblob view, generated columns, a virtual table) or
// holds oversized rows is refused quickly with an error naming the cause;
// a FIFO is refused without blocking; a cancelled context stops the read.
func TestReadDBHostile(t *testing.T) {
	big := strings.Repeat("x", MaxDBTextBytes+1)
	tests := []struct {
		name string
		file func(t *testing.T) string
		ctx  func() context.Context
		want string
	}{
		{"recursive view", func(t *testing.T) string {
			return hostileDB(t, nixRefs, `create view ValidPaths as with recursive r(id, path, hash, registrationTime, deriver, narSize, ultimate, sigs, ca) as (select 1, 'a', 'h', 0, null, 0, 0, null, null union all select id+1, path, hash, registrationTime, deriver, narSize, ultimate, sigs, ca from r) select * from r`)
		}, nil, "ValidPaths is a view"},
		{"zeroblob view", func(t *testing.T) string {
			return hostileDB(t, nixRefs, `create view ValidPaths as select 1 as id, zeroblob(1000000000) as path, '' as hash, 0 as registrationTime, null as deriver, 0 as narSize, 0 as ultimate, null as sigs, null as ca`)
		}, nil, "ValidPaths is a view"},
		{"generated column", func(t *testing.T) string {
			return hostileDB(t, nixRefs, `create table ValidPaths (id integer primary key, path text, hash text generated always as (zeroblob(1000000000)) virtual, registrationTime integer, deriver text, narSize integer, ultimate integer, sigs text, ca text)`, `insert into ValidPaths (id, path) values (1, '/nix/store/x')`)
		}, nil, "column ValidPaths.hash is generated"},
		{"virtual table", func(t *testing.T) string {
			return hostileDB(t, nixValidPaths, `create virtual table Refs using fts5(referrer, reference)`)
		}, nil, "Refs is a virtual table"},
		{"missing column", func(t *testing.T) string {
			return hostileDB(t, nixRefs, `create table ValidPaths (id integer primary key, path text, hash text)`)
		}, nil, "table ValidPaths has no column registrationTime"},
		{"no Refs", func(t *testing.T) string { return hostileDB(t, nixValidPaths) }, nil, "no table Refs"},
		{"huge path", func(t *testing.T) string {
			return hostileDB(t, nixRefs, nixValidPaths, `insert into ValidPaths (path, hash, registrationTime) values ('/nix/store/`+big+`', 'sha256:00', 0)`)
		}, nil, "a text over 65536 bytes"},
		{"FIFO", func(t *testing.T) string {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "schema"), []byte("10"), 0o644)
			p := filepath.Join(dir, "db.sqlite")
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, nil, "not a regular file"},
		{"cancelled", func(t *testing.T) string { return hostileDB(t, nixRefs, nixValidPaths) }, func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file(t)
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			start := time.Now()
			_, err := ReadDBContext(ctx, file)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), file) {
				t.Fatalf("err = %v, want one naming %s and containing %q", err, file, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestReadDBInterrupt: a query the schema check lets through but that
// runs long is interrupted at the context's deadline.
func TestReadDBInterrupt(t *testing.T) {
	file := hostileDB(t, nixRefs, nixValidPaths,
		`with recursive r(n) as (select 1 union all select n+1 from r where n < 200000) insert into ValidPaths (path, hash, registrationTime) select '/nix/store/' || n, 'sha256:00', 0 from r`)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := ReadDBContext(ctx, file)
	if !errors.Is(err, context.DeadlineExceeded) && (err == nil || !strings.Contains(err.Error(), "interrupt")) {
		t.Fatalf("err = %v, want the deadline's", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stopped after %v", d)
	}
}
