package nixdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nix-community/go-nix/pkg/sqlite/nix_v10"

	"github.com/nixlayer/nixlayer/internal/regularfile"
	"github.com/nixlayer/nixlayer/registration"
)

// ReadDB reads the store paths registered in a Nix database file (for
// example a base image's /nix/var/nix/db/db.sqlite), as ReadDBContext
// without a caller's context.
func ReadDB(path string) ([]registration.PathInfo, error) {
	return ReadDBContext(context.Background(), path)
}

// ReadDBContext reads the store paths registered in a Nix database file.
// The schema file next to it must say SchemaVersion. Hashes are returned
// as the database stores them ("sha256:<base16>").
//
// The file is hostile input: it is copied (with a WAL file if there is
// one, each within MaxDBFileBytes) to a temporary directory and opened
// read-only; ValidPaths and Refs must be plain tables with Nix's columns
// (no views, virtual tables or generated columns, which would run the
// file's own SQL); there may be at most MaxDBPaths paths, MaxDBRefs
// references and MaxDBTextBytes per text; SQLite's heap is capped; and the
// queries are interrupted when ctx is done or after DBReadTimeout.
func ReadDBContext(ctx context.Context, path string) ([]registration.PathInfo, error) {
	schemaFile := filepath.Join(filepath.Dir(path), "schema")
	b, err := regularfile.ReadAll(schemaFile, 64, false)
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
	ctx, cancel := context.WithTimeout(ctx, DBReadTimeout)
	defer cancel()
	infos, err := readDB(ctx, copyPath)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (stopped: %w)", err, context.Cause(ctx))
		}
		return nil, fmt.Errorf("reading Nix database %q: %w", path, err)
	}
	return infos, nil
}

// ReadGraph reads a Nix database like ReadDB and returns its paths as a
// graph in storeDir ("" means /nix/store), checking that every reference is
// registered too.
func ReadGraph(path, storeDir string) (*registration.Graph, error) {
	return ReadGraphContext(context.Background(), path, storeDir)
}

// ReadGraphContext is ReadGraph, stopped when ctx is done.
func ReadGraphContext(ctx context.Context, path, storeDir string) (*registration.Graph, error) {
	infos, err := ReadDBContext(ctx, path)
	if err != nil {
		return nil, err
	}
	g, err := registration.NewGraph(storeDir, infos)
	if err != nil {
		return nil, fmt.Errorf("reading Nix database %q: %w", path, err)
	}
	return g, nil
}

// copyFile copies the regular file from to the new file to, within
// MaxDBFileBytes.
func copyFile(from, to string) error {
	in, err := regularfile.Open(from, false)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(in, MaxDBFileBytes+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > MaxDBFileBytes {
		err = fmt.Errorf("%s is over the %d byte limit", from, MaxDBFileBytes)
	}
	return err
}

// openReadOnly opens the SQLite file at path read-only, with SQLite's heap
// capped and the schema's SQL functions untrusted.
func openReadOnly(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Set("mode", "ro")
	q["_pragma"] = []string{"query_only(1)", "trusted_schema(0)", fmt.Sprintf("hard_heap_limit(%d)", dbHeapBytes)}
	dsn := (&url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: q.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// nixColumns are the columns Nix's schema gives each table nixlayer reads.
var nixColumns = map[string][]string{
	"ValidPaths": {"id", "path", "hash", "registrationTime", "deriver", "narSize", "ultimate", "sigs", "ca"},
	"Refs":       {"referrer", "reference"},
}

// checkSchema makes sure ValidPaths and Refs are Nix's: ordinary tables
// (not views or virtual tables) with its columns, none generated or
// hidden. Reading them then runs no SQL of the file's.
func checkSchema(ctx context.Context, db *sql.DB) error {
	for table, want := range nixColumns {
		var typ, text string
		err := db.QueryRowContext(ctx, "select type, coalesce(sql, '') from sqlite_master where name = ? collate nocase", table).Scan(&typ, &text)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("not a Nix database: no table %s", table)
		}
		if err != nil {
			return err
		}
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(text)), "create virtual") {
			typ = "virtual table"
		}
		if typ != "table" {
			return fmt.Errorf("not a Nix database: %s is a %s (%.200q), not a table", table, typ, text)
		}
		rows, err := db.QueryContext(ctx, "select name, hidden from pragma_table_xinfo(?)", table)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for rows.Next() {
			var name string
			var hidden int
			if err := rows.Scan(&name, &hidden); err != nil {
				rows.Close()
				return err
			}
			if hidden != 0 {
				rows.Close()
				return fmt.Errorf("not a Nix database: column %s.%s is generated or hidden", table, name)
			}
			have[strings.ToLower(name)] = true
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, c := range want {
			if !have[strings.ToLower(c)] {
				return fmt.Errorf("not a Nix database: table %s has no column %s", table, c)
			}
		}
	}
	return nil
}

// checkSizes enforces MaxDBPaths, MaxDBRefs and MaxDBTextBytes.
func checkSizes(ctx context.Context, db *sql.DB) error {
	checks := []struct{ query, what string }{
		{fmt.Sprintf("select count(*) > %d from (select 1 from ValidPaths limit %d)", MaxDBPaths, MaxDBPaths+1), fmt.Sprintf("more than %d paths", MaxDBPaths)},
		{fmt.Sprintf("select count(*) > %d from (select 1 from Refs limit %d)", MaxDBRefs, MaxDBRefs+1), fmt.Sprintf("more than %d references", MaxDBRefs)},
		{fmt.Sprintf("select exists (select 1 from ValidPaths where max(length(cast(path as blob)), length(cast(hash as blob)), length(cast(coalesce(deriver, '') as blob)), length(cast(coalesce(sigs, '') as blob)), length(cast(coalesce(ca, '') as blob))) > %d)", MaxDBTextBytes), fmt.Sprintf("a text over %d bytes", MaxDBTextBytes)},
	}
	for _, c := range checks {
		var over bool
		if err := db.QueryRowContext(ctx, c.query).Scan(&over); err != nil {
			return err
		}
		if over {
			return fmt.Errorf("the database holds %s", c.what)
		}
	}
	return nil
}

func readDB(ctx context.Context, file string) (infos []registration.PathInfo, err error) {
	db, err := openReadOnly(file)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}()
	if err := checkSchema(ctx, db); err != nil {
		return nil, err
	}
	if err := checkSizes(ctx, db); err != nil {
		return nil, err
	}
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
