// Package nixdb writes the Nix store database (schema version 10) that lets
// Nix inside a container image know which store paths are valid, and reads
// the database of a base image.
//
// The database is built with a pure-Go SQLite (modernc.org/sqlite) so the
// nixlayer binary stays static, and its bytes depend only on the closure and
// the registration time: rows are inserted in sorted order in one
// transaction with the rollback journal deleted on commit, so two builds of
// the same closure give the same file. Entries returns the whole database
// layer (db.sqlite, the schema file, gcroots and the state directories a
// fresh Nix creates), meant to be the image's top layer so that the layers
// holding store paths stay shareable between images.
package nixdb
