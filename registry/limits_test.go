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
