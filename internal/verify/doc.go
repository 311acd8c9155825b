// Package verify checks a stream against the digest and size it should
// have while it is read, failing at its end (or as soon as it is too long)
// instead of handing out content that does not match.
package verify
