// Package compression is the one home of blob compression: the writers
// nixlayer's layers are written with (gzip through pgzip, in fixed 1 MiB
// blocks; zstd as independent 4 MiB frames compressed on every core; none),
// whose bytes depend only on the input; the media type of each compression
// per format flavour; the reader of nixlayer's own blobs (NewReader); and
// the hardened readers of foreign blobs: detection by magic bytes (Sniff,
// Peek), a zstd decoder with a bounded window (Decompress) and an xz reader
// that checks every dictionary size before it allocates (NewXzReader).
// image/base adds its size budgets on top.
//
// Adding a compression touches this package (a constant, its writer,
// reader, magic and media type), the Nix argument's documentation and the
// README.
package compression
