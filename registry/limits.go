package registry

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// Limits and network timeouts of Pull, Pin and Push; see the README's
// "Limits" section.
const (
	// MaxConfigBytes bounds an image config blob, which is read into
	// memory; a manifest saying more is refused before the download.
	MaxConfigBytes = 8 << 20
	// MaxDocumentBytes bounds every response from a registry that is not
	// a blob (a manifest, an index, the referrers tag's index, a token, an
	// error), whoever reads it: an endless document fails there.
	MaxDocumentBytes = 8 << 20
	// maxPlatformsListed bounds the platforms a no-matching-platform
	// error lists (deduplicated).
	maxPlatformsListed = 32
)

// Timeouts bound each network step. A zero field means its default.
type Timeouts struct {
	Dial    time.Duration // TCP connect (default 30s)
	TLS     time.Duration // TLS handshake (default 30s)
	Headers time.Duration // from the request sent to the response headers (default 60s)
	// Idle bounds the time a response body may send nothing, and a
	// write to the connection may wait (default 60s): a stalled body, or
	// a registry that stops reading an upload, fails, and is retried as a
	// transient failure. It is also the window of MinRate.
	Idle time.Duration
	// MinRate is the least a response body or an upload must move, in
	// bytes a second, over each window of Idle (default 1024): a trickle
	// (a slow loris sending a byte every few seconds, which the idle
	// timeout never cuts) fails, and is retried as a transient failure.
	MinRate int64
}

// DefaultTimeouts are the timeouts unless WithTimeouts or the environment
// ($NIXLAYER_CONNECT_TIMEOUT for Dial, TLS and Headers;
// $NIXLAYER_IDLE_TIMEOUT for Idle; Go durations such as "90s";
// $NIXLAYER_MIN_RATE for MinRate, bytes a second) say otherwise.
var DefaultTimeouts = Timeouts{Dial: 30 * time.Second, TLS: 30 * time.Second, Headers: 60 * time.Second, Idle: 60 * time.Second, MinRate: 1024}

// Environment variables overriding DefaultTimeouts.
const (
	EnvConnectTimeout = "NIXLAYER_CONNECT_TIMEOUT"
	EnvIdleTimeout    = "NIXLAYER_IDLE_TIMEOUT"
	EnvMinRate        = "NIXLAYER_MIN_RATE"
)

// withDefaults fills zero fields from the environment, then from
// DefaultTimeouts.
func (t Timeouts) withDefaults() (Timeouts, error) {
	d := DefaultTimeouts
	if v := os.Getenv(EnvConnectTimeout); v != "" {
		x, err := parseTimeout(EnvConnectTimeout, v)
		if err != nil {
			return t, err
		}
		d.Dial, d.TLS, d.Headers = x, x, x
	}
	if v := os.Getenv(EnvIdleTimeout); v != "" {
		x, err := parseTimeout(EnvIdleTimeout, v)
		if err != nil {
			return t, err
		}
		d.Idle = x
	}
	if v := os.Getenv(EnvMinRate); v != "" {
		x, err := ParseMinRate("$"+EnvMinRate, v)
		if err != nil {
			return t, err
		}
		d.MinRate = x
	}
	if t.MinRate <= 0 {
		t.MinRate = d.MinRate
	}
	for _, f := range []struct {
		got *time.Duration
		def time.Duration
	}{{&t.Dial, d.Dial}, {&t.TLS, d.TLS}, {&t.Headers, d.Headers}, {&t.Idle, d.Idle}} {
		if *f.got <= 0 {
			*f.got = f.def
		}
	}
	return t, nil
}

func parseTimeout(env, v string) (time.Duration, error) {
	return parseDuration("$"+env, v)
}

// parseDuration reads v, the value of what (an argument or a variable), as
// a positive Go duration.
func parseDuration(what, v string) (time.Duration, error) {
	x, err := time.ParseDuration(v)
	if err != nil || x <= 0 {
		return 0, fmt.Errorf("%s = %q is not a positive duration (like 90s or 5m)", what, v)
	}
	return x, nil
}

// ParseTimeouts reads a connect timeout (TCP connect, TLS handshake and
// response headers) and an idle timeout (a body or upload that stalls), Go
// durations named in errors as connectName and idleName; an empty value
// keeps the default (see DefaultTimeouts).
func ParseTimeouts(connectName, connect, idleName, idle string) (Timeouts, error) {
	var t Timeouts
	if connect != "" {
		x, err := parseDuration(connectName, connect)
		if err != nil {
			return t, err
		}
		t.Dial, t.TLS, t.Headers = x, x, x
	}
	if idle != "" {
		x, err := parseDuration(idleName, idle)
		if err != nil {
			return t, err
		}
		t.Idle = x
	}
	return t, nil
}

// ParseMinRate reads v, the value of what (a flag, an argument or a
// variable), as a minimum transfer rate: a positive number of bytes a
// second.
func ParseMinRate(what, v string) (int64, error) {
	x, err := strconv.ParseInt(v, 10, 64)
	if err != nil || x <= 0 {
		return 0, fmt.Errorf("%s = %q is not a positive number of bytes a second (like 1024)", what, v)
	}
	return x, nil
}
