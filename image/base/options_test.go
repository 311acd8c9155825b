package base

import (
	"strings"
	"testing"
)

// TestLimitsFromEnv: $NIXLAYER_MAX_BYTES and $NIXLAYER_MAX_ENTRIES raise
// the defaults a caller left zero, and a bad value names its variable.
func TestLimitsFromEnv(t *testing.T) {
	for _, c := range []struct {
		name, bytes, entries string
		given, want          Limits
		err                  string
	}{
		{name: "defaults", want: Limits{MaxBytes: DefaultMaxBytes, MaxEntries: DefaultMaxEntries, MaxNameBytes: DefaultMaxNameBytes}},
		{name: "env", bytes: "1000", entries: "10", want: Limits{MaxBytes: 1000, MaxEntries: 10, MaxNameBytes: DefaultMaxNameBytes}},
		{name: "caller wins", bytes: "1000", given: Limits{MaxBytes: 7}, want: Limits{MaxBytes: 7, MaxEntries: DefaultMaxEntries, MaxNameBytes: DefaultMaxNameBytes}},
		{name: "bad bytes", bytes: "16G", err: `$NIXLAYER_MAX_BYTES = "16G" is not a positive number`},
		{name: "zero entries", entries: "0", err: `$NIXLAYER_MAX_ENTRIES = "0" is not a positive number`},
		{name: "too large", bytes: "9223372036854775807", err: `$NIXLAYER_MAX_BYTES = "9223372036854775807" is not a positive number`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(EnvMaxBytes, c.bytes)
			t.Setenv(EnvMaxEntries, c.entries)
			got, err := c.given.withDefaults()
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}
