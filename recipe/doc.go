// Package recipe is a planned image's layers and how they become bytes:
// Layer (the store paths and entries a layer holds, its owner and
// permission rules, or a cached layer's blob file), written as a
// deterministic tar on demand, as often as asked and always the same;
// Blob, a layer whose digests are known before its bytes are read (a
// v1.Layer); and the image those blobs make over a base (Assemble,
// AddImage, WriteBase, OpenBase). Package image plans layers and package
// stream replays them; both write through here, so a built image and a
// streamed one are made by the same code. A cached layer's files are read
// only as regular files inside its buildLayer output, never through a
// symlink, and its blob is checked against its digest as it is read.
package recipe
