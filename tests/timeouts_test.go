package tests

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

// TestTimeoutFlags checks that --connect-timeout bounds a registry that
// never answers (each try, retried as a transient failure), far below the
// default of a minute per try, and that bad durations and rates name their
// flag, variable or pullImage argument.
func TestTimeoutFlags(t *testing.T) {
	exe := testutil.Exe(t)
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answer, until the client gives up
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	defer stall.Close()
	host := strings.TrimPrefix(stall.URL, "http://")

	start := time.Now()
	_, errOut, err := testutil.RunErr("", nil, exe, "pin", "--insecure", "--quiet", "--connect-timeout", "200ms", host+"/stall:v1")
	took := time.Since(start)
	if err == nil || !strings.Contains(errOut, host) {
		t.Errorf("pin of a registry that never answers: %v\n%s", err, errOut)
	}
	// 4 tries of 200ms and pauses of 1+2+4 s: about 8 s; the default
	// would take over 4 minutes.
	if took > 30*time.Second {
		t.Errorf("pin with --connect-timeout 200ms took %v", took)
	}

	for _, c := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"pin", "--connect-timeout", "soon", host + "/x:v1"}, `--connect-timeout = "soon" is not a positive duration`},
		{nil, []string{"push", "--idle-timeout", "-5s", "/nonexistent", host + "/x:v1"}, `--idle-timeout = "-5s" is not a positive duration`},
		{nil, []string{"pull", "--min-rate", "1KiB", "--out", "/nonexistent/x", host + "/x@sha256:" + strings.Repeat("0", 64)}, `--min-rate = "1KiB" is not a positive number of bytes a second`},
		{[]string{"NIXLAYER_MIN_RATE=0"}, []string{"pin", "--quiet", host + "/x:v1"}, `$NIXLAYER_MIN_RATE = "0" is not a positive number of bytes a second`},
	} {
		_, errOut, err := testutil.RunErr("", c.env, exe, c.args...)
		if err == nil || !strings.Contains(errOut, c.want) {
			t.Errorf("%v %v: %v\n%s", c.env, c.args, err, errOut)
		}
	}

	_, errOut, err = testutil.NixBuildErr(t, `nl.pullImage { imageName = "`+host+`/x"; imageDigest = "sha256:`+strings.Repeat("0", 64)+`"; sha256 = "`+strings.Repeat("0", 52)+`"; tlsVerify = false; connectTimeout = "soon"; }`)
	if err == nil || !strings.Contains(errOut, `connectTimeout = "soon" is not a positive duration`) {
		t.Errorf("pullImage with connectTimeout = \"soon\": %v\n%s", err, errOut)
	}
	_, errOut, err = testutil.NixBuildErr(t, `nl.pullImage { imageName = "`+host+`/x"; imageDigest = "sha256:`+strings.Repeat("0", 64)+`"; sha256 = "`+strings.Repeat("0", 52)+`"; tlsVerify = false; minRate = -1; }`)
	if err == nil || !strings.Contains(errOut, `minRate = -1 is not a positive number of bytes a second`) {
		t.Errorf("pullImage with minRate = -1: %v\n%s", err, errOut)
	}
}
