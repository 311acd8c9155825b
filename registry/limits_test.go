package registry

import (
	"strings"
	"testing"
	"time"
)

func TestParseTimeouts(t *testing.T) {
	for _, c := range []struct {
		name, connect, idle string
		want                Timeouts
		err                 string
	}{
		{name: "defaults", want: Timeouts{}},
		{name: "connect", connect: "90s", want: Timeouts{Dial: 90 * time.Second, TLS: 90 * time.Second, Headers: 90 * time.Second}},
		{name: "idle", idle: "5m", want: Timeouts{Idle: 5 * time.Minute}},
		{name: "bad connect", connect: "soon", err: `c = "soon" is not a positive duration`},
		{name: "negative idle", idle: "-1s", err: `i = "-1s" is not a positive duration`},
		{name: "zero", connect: "0s", err: `c = "0s" is not a positive duration`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseTimeouts("c", c.connect, "i", c.idle)
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

// TestTimeoutsFromEnv: the environment fills the fields a caller left
// zero, and a bad value names its variable.
func TestTimeoutsFromEnv(t *testing.T) {
	d := DefaultTimeouts
	for _, c := range []struct {
		name, connect, idle, rate string
		given, want               Timeouts
		err                       string
	}{
		{name: "defaults", want: DefaultTimeouts},
		{name: "env", connect: "5s", idle: "7s", rate: "10", want: Timeouts{Dial: 5 * time.Second, TLS: 5 * time.Second, Headers: 5 * time.Second, Idle: 7 * time.Second, MinRate: 10}},
		{name: "caller wins", idle: "7s", rate: "10", given: Timeouts{Idle: time.Second, MinRate: 99}, want: Timeouts{Dial: d.Dial, TLS: d.TLS, Headers: d.Headers, Idle: time.Second, MinRate: 99}},
		{name: "bad connect", connect: "soon", err: `$NIXLAYER_CONNECT_TIMEOUT = "soon" is not a positive duration`},
		{name: "bad idle", idle: "0", err: `$NIXLAYER_IDLE_TIMEOUT = "0" is not a positive duration`},
		{name: "bad rate", rate: "1KiB", err: `$NIXLAYER_MIN_RATE = "1KiB" is not a positive number of bytes a second`},
		{name: "zero rate", rate: "0", err: `$NIXLAYER_MIN_RATE = "0" is not a positive number`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(EnvConnectTimeout, c.connect)
			t.Setenv(EnvIdleTimeout, c.idle)
			t.Setenv(EnvMinRate, c.rate)
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
