// Package bufpipe is a pipe with a buffer: like io.Pipe, but the writer may
// run ahead of the reader by a fixed number of chunks, so that a producer
// (reading the store, hashing) and a consumer (writing the archive) work
// at the same time instead of taking turns.
package bufpipe
