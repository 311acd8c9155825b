package main

import (
	"io"
	"strings"
	"testing"
)

// TestArgumentErrors runs commands with the wrong number of arguments and
// checks that each error shows the command's usage.
func TestArgumentErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"inspect"}, "usage: nixlayer inspect ARCHIVE|LAYOUT (got 0 arguments)"},
		{[]string{"inspect", "a", "b"}, "usage: nixlayer inspect ARCHIVE|LAYOUT (got 2 arguments)"},
		{[]string{"export", "--out", "x.tar"}, "usage: nixlayer export IMAGE (got 0 arguments)"},
		{[]string{"pin"}, "usage: nixlayer pin NAME[:TAG] (got 0 arguments)"},
		{[]string{"push", "image.tar"}, "usage: nixlayer push SOURCE DEST (got 1 arguments)"},
		{[]string{"pull", "--out", "x.tar", "alpine:3"}, `pull: give NAME@DIGEST and --out FILE (got "alpine:3"; nixlayer pin resolves a tag)`},
		{[]string{"stream"}, "usage: nixlayer stream SCRIPT [-o FILE]"},
		{[]string{"stream", "a", "b"}, "usage: nixlayer stream SCRIPT [-o FILE]"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			app := newApp()
			app.Writer, app.ErrWriter = io.Discard, io.Discard
			err := app.Run(append([]string{"nixlayer"}, tt.args...))
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}
