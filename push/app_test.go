package push

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nixlayer/nixlayer/internal/testutil"
)

func TestWriteApp(t *testing.T) {
	for _, tt := range []struct {
		name, app string
		ok        bool
	}{{"plain", "copy-to-registry", true}, {"slash", "a/b", false}, {"empty", "", false}, {"dotdot", "..", false}} {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			err := WriteApp(out, tt.app, "#!/bin/sh\necho hi\n")
			if !tt.ok {
				if err == nil {
					t.Fatal("no error")
				}
				testutil.AssertAbsent(t, out)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(filepath.Join(out, "bin", tt.app))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o555 {
				t.Errorf("mode %o, want 555", fi.Mode().Perm())
			}
		})
	}
}
