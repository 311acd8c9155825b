package nixdb

import "time"

// Limits on reading a base image's Nix database (ReadDB); see the README's
// "Limits" section.
const (
	// MaxDBFileBytes bounds db.sqlite and db.sqlite-wal, each.
	MaxDBFileBytes int64 = 4 << 30
	// MaxDBPaths bounds the registered paths.
	MaxDBPaths = 1 << 20
	// MaxDBRefs bounds the references of all paths together.
	MaxDBRefs = 16 << 20
	// MaxDBTextBytes bounds one path, hash, deriver, signature or ca text.
	MaxDBTextBytes = 64 << 10
	// DBReadTimeout bounds the time reading one database may take: the
	// queries are interrupted after it.
	DBReadTimeout = 5 * time.Minute
	// dbHeapBytes is SQLite's hard heap limit while reading.
	dbHeapBytes = 512 << 20
)
