package nixdb

import (
	"context"
	"database/sql"
	_ "embed" // schema.sql
	"fmt"
	"net/url"
	"os"
	"path/filepath"

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
