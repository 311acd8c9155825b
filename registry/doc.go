// Package registry is the small transport that pull and push share: the
// options of a registry operation (platform choice, TLS and CA
// certificates, credentials, jobs, retry, timeouts, progress; options.go),
// the limits and network timeouts (limits.go), and Fetch, which downloads
// an image and its blobs by digest, verified and bounded (fetch.go).
//
// Every request goes through one transport (transport.go) that bounds it
// whoever makes it: connect, idle and response-header timeouts, a minimum
// transfer rate over each idle window, and a size bound on every document
// that is not a blob; the timeouts are transient failures, tried again.
//
// It imports neither pull nor push; they read its options through the
// exported accessors of export.go.
package registry
