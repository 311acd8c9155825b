package image

// Limits on what a build reads from a base image (fromImage); see the
// README's "Limits" section.
const (
	// maxBaseUserFileBytes bounds the base's /etc/passwd and /etc/group,
	// which are read into memory for the config.User and users checks.
	maxBaseUserFileBytes = 16 << 20
	// maxBaseDBBytes bounds each file of the base's Nix database
	// (db.sqlite, its WAL), copied to a temporary file, never to memory.
	maxBaseDBBytes = 4 << 30
	// maxLinks bounds symlink resolution in the base, as Linux's
	// MAXSYMLINKS.
	maxLinks = 40
	// maxStreamScriptFiles bounds the files a root script of a stream
	// (streamLayeredImage's fakeRootCommands) makes, all together: the
	// stream script holds them in base64 (4 bytes for 3) and is read
	// whole, at most stream.MaxScriptBytes.
	maxStreamScriptFiles = 32 << 20
)
