package nixdb

import (
	"context"
	"database/sql"
	_ "embed" // schema.sql
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nix-community/go-nix/pkg/sqlite/nix_v10"
	_ "modernc.org/sqlite" // the pure-Go "sqlite" driver

	"github.com/nixlayer/nixlayer/registration"
)

// SchemaVersion is the Nix database schema version nixlayer writes and
// reads; Nix keeps it in /nix/var/nix/db/schema.
const SchemaVersion = 10

// Schema is Nix's src/libstore/schema.sql for schema version 10, as Nix
// 2.8 executes it when it creates a database. (go-nix ships a dump of the
// same schema, which cannot be executed as it is: it creates
// sqlite_sequence.)
//
//go:embed schema.sql
var Schema string

// Encode returns the bytes of a Nix database (db.sqlite) that registers
// every path of g, all with the given registration time (seconds since the
// epoch). Every path must have a narHash (see Complete). The same graph and
// time always give the same bytes.
func Encode(ctx context.Context, g *registration.Graph, registrationTime int64) ([]byte, error) {
	rows := make([]nix_v10.RegisterValidPathParams, g.Len())
	for i, p := range g.Paths() {
		if p.NarHash == "" {
			return nil, fmt.Errorf("registering store path %s: no narHash (compute it with nixdb.Complete)", p.Path)
		}
		h, err := registration.NarHashBase16(p.NarHash)
		if err != nil {
			return nil, fmt.Errorf("registering store path %s: %w", p.Path, err)
		}
		rows[i] = nix_v10.RegisterValidPathParams{
			Path:             p.Path,
			Hash:             h,
			Registrationtime: registrationTime,
			// Nix stores an unknown deriver and a zero narSize as NULL.
			Deriver: sql.NullString{String: p.Deriver, Valid: p.Deriver != ""},
			Narsize: sql.NullInt64{Int64: int64(p.NarSize), Valid: p.NarSize != 0},
		}
	}
	dir, err := os.MkdirTemp("", "nixdb-")
	if err != nil {
		return nil, fmt.Errorf("creating the Nix database: %w", err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "db.sqlite")
	if err := writeDB(ctx, file, g, rows); err != nil {
		return nil, fmt.Errorf("creating the Nix database: %w", err)
	}
	if left, _ := filepath.Glob(file + "-*"); len(left) > 0 {
		return nil, fmt.Errorf("creating the Nix database: SQLite left %v behind", left)
	}
	return os.ReadFile(file)
}

// open opens the SQLite file at path with one connection and the rollback
// journal deleted on commit (no WAL).
func open(path string) (*sql.DB, error) {
	dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: "_pragma=journal_mode(DELETE)&_pragma=foreign_keys(1)&_txlock=immediate"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// writeDB creates the schema and inserts rows (in g's sorted order) and
// their references in one transaction.
func writeDB(ctx context.Context, file string, g *registration.Graph, rows []nix_v10.RegisterValidPathParams) (err error) {
	db, err := open(file)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := db.ExecContext(ctx, Schema); err != nil {
		return fmt.Errorf("creating schema: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	q := nix_v10.New(tx)
	for _, r := range rows {
		if err := q.RegisterValidPath(ctx, r); err != nil {
			return fmt.Errorf("registering store path %s: %w", r.Path, err)
		}
	}
	// Rows were inserted in order into an empty table: path i has id i+1.
	// Reading the ids back keeps that an observation, not an assumption.
	ids := make(map[string]int64, len(rows))
	for _, r := range rows {
		info, err := q.QueryPathInfo(ctx, r.Path)
		if err != nil {
			return fmt.Errorf("querying store path %s: %w", r.Path, err)
		}
		ids[r.Path] = info.ID
	}
	for _, p := range g.Paths() {
		for _, ref := range p.References {
			if err := q.AddReference(ctx, nix_v10.AddReferenceParams{Referrer: ids[p.Path], Reference: ids[ref]}); err != nil {
				return fmt.Errorf("registering reference from %s to %s: %w", p.Path, ref, err)
			}
		}
	}
	return tx.Commit()
}

// ReadDB reads the store paths registered in a Nix database file (for
// example a base image's /nix/var/nix/db/db.sqlite). The schema file next
// to it must say SchemaVersion. Hashes are returned as the database stores
// them ("sha256:<base16>"). The file is not modified: it is copied, with a
// WAL file if there is one, to a temporary directory first.
func ReadDB(path string) ([]registration.PathInfo, error) {
	ctx := context.Background()
	schemaFile := filepath.Join(filepath.Dir(path), "schema")
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		return nil, fmt.Errorf("reading Nix database schema version %q: %w", schemaFile, err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("reading Nix database schema version %q: %w", schemaFile, err)
	}
	if v != SchemaVersion {
		return nil, fmt.Errorf("reading Nix database %q: schema version %d (in %s), nixlayer reads only version %d", path, v, schemaFile, SchemaVersion)
	}
	dir, err := os.MkdirTemp("", "nixdb-read-")
	if err != nil {
		return nil, fmt.Errorf("reading Nix database %q: %w", path, err)
	}
	defer os.RemoveAll(dir)
	copyPath := filepath.Join(dir, "db.sqlite")
	for _, suffix := range []string{"", "-wal"} {
		if err := copyFile(path+suffix, copyPath+suffix); err != nil && (suffix == "" || !errors.Is(err, os.ErrNotExist)) {
			return nil, fmt.Errorf("reading Nix database %q: %w", path, err)
		}
	}
	infos, err := readDB(ctx, copyPath)
	if err != nil {
		return nil, fmt.Errorf("reading Nix database %q: %w", path, err)
	}
	return infos, nil
}

// ReadGraph reads a Nix database like ReadDB and returns its paths as a
// graph in storeDir ("" means /nix/store), checking that every reference is
// registered too.
func ReadGraph(path, storeDir string) (*registration.Graph, error) {
	infos, err := ReadDB(path)
	if err != nil {
		return nil, err
	}
	g, err := registration.NewGraph(storeDir, infos)
	if err != nil {
		return nil, fmt.Errorf("reading Nix database %q: %w", path, err)
	}
	return g, nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

func readDB(ctx context.Context, file string) (infos []registration.PathInfo, err error) {
	db, err := open(file)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()
	rows, err := db.QueryContext(ctx, "select id, path from ValidPaths order by path")
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		var p string
		if err := rows.Scan(&id, &p); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
		infos = append(infos, registration.PathInfo{Path: p})
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var dangling, referrer int64
	err = db.QueryRowContext(ctx, "select reference, referrer from Refs where reference not in (select id from ValidPaths) limit 1").Scan(&dangling, &referrer)
	switch {
	case err == nil:
		return nil, fmt.Errorf("path id %d refers to id %d, which is not a valid path", referrer, dangling)
	case !errors.Is(err, sql.ErrNoRows):
		return nil, err
	}
	q := nix_v10.New(db)
	for i := range infos {
		p := &infos[i]
		info, err := q.QueryPathInfo(ctx, p.Path)
		if err != nil {
			return nil, fmt.Errorf("querying store path %s: %w", p.Path, err)
		}
		p.NarHash = info.Hash
		p.NarSize = uint64(info.Narsize.Int64)
		p.Deriver = info.Deriver.String
		refs, err := q.QueryReferences(ctx, ids[i])
		if err != nil {
			return nil, fmt.Errorf("querying references of store path %s: %w", p.Path, err)
		}
		p.References = refs
	}
	return infos, nil
}
