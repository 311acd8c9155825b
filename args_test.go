package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

// TestReorderArgs moves each command's flags, with their values, before its
// positional arguments, as the command's flag definitions say.
func TestReorderArgs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"bool flag after the argument", "pin alpine:3 --json", "pin --json alpine:3"},
		{"value flag after the argument", "export img.tar -o rootfs.tar", "export -o rootfs.tar img.tar"},
		{"long value flag with =", "export img.tar --out=rootfs.tar", "export --out=rootfs.tar img.tar"},
		{"flags on both sides", "push --insecure a.tar --jobs 2 reg/x:1 -q", "push --insecure --jobs 2 -q a.tar reg/x:1"},
		{"a value that looks like an argument stays with its flag", "pull --out x.tar a@sha256:1 --final-tag v1", "pull --out x.tar --final-tag v1 a@sha256:1"},
		{"a value that starts with a dash", "build-image --name -x --tag t", "build-image --name -x --tag t"},
		{"repeated slice flag", "build-image --contents a --closure g --contents b", "build-image --contents a --closure g --contents b"},
		{"alias of a value flag", "stream script -o out.tar", "stream -o out.tar script"},
		{"already in order", "inspect --json img.tar", "inspect --json img.tar"},
		{"-- ends the flags", "inspect img.tar -- --json", "inspect -- img.tar --json"},
		{"-- first", "inspect -- -img.tar", "inspect -- -img.tar"},
		{"a lone dash is an argument", "inspect - --json", "inspect --json -"},
		{"help flag after the argument", "pin alpine --help", "pin --help alpine"},
		{"unknown flag kept, no value taken", "inspect img.tar --bogus x", "inspect --bogus img.tar x"},
		{"value flag at the end without its value", "export img.tar -o", "export -o img.tar"},
		{"app flags before the command", "--help pin x --json", "--help pin --json x"},
		{"unknown command left alone", "frobnicate a --json", "frobnicate a --json"},
		{"no command", "--version", "--version"},
		{"nothing", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]string{"nixlayer"}, strings.Fields(tt.in)...)
			want := append([]string{"nixlayer"}, strings.Fields(tt.want)...)
			if got := reorderArgs(newApp(), in); !slices.Equal(got, want) {
				t.Errorf("reorderArgs(%q)\n got %q\nwant %q", in, got, want)
			}
		})
	}
}

// TestFlagsAfterArguments runs commands with their flags after the
// positional arguments and checks that the flags took effect: the errors
// are those of the flags' values, not of the argument count.
func TestFlagsAfterArguments(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"export", dir + "/missing.tar", "-o", dir + "/rootfs.tar"}, "missing.tar"},
		{[]string{"inspect", dir + "/missing.tar", "--json"}, "missing.tar"},
		{[]string{"stream", dir + "/missing-script", "-o", dir + "/out.tar"}, "missing-script"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			app := newApp()
			app.Writer, app.ErrWriter = io.Discard, io.Discard
			err := app.Run(reorderArgs(app, append([]string{"nixlayer"}, tt.args...)))
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "usage:") {
				t.Errorf("got %v, want an error naming %q and no usage error", err, tt.want)
			}
		})
	}
}
