package base

import (
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestMergeConfig(t *testing.T) {
	type set = map[string]struct{}
	base := v1.Config{
		Env:          []string{"PATH=/usr/bin:/bin", "LANG=C", "HOME=/root"},
		Labels:       map[string]string{"a": "base", "b": "base"},
		ExposedPorts: set{"80/tcp": {}},
		Volumes:      set{"/data": {}},
		Entrypoint:   []string{"/bin/sh", "-c"},
		Cmd:          []string{"sh"},
		WorkingDir:   "/root",
		User:         "1000",
		StopSignal:   "SIGTERM",
	}
	cases := []struct {
		name string
		ours v1.Config
		want func(c *v1.Config)
	}{
		{"empty inherits all", v1.Config{}, func(c *v1.Config) {}},
		{"env by name, ours win, new appended", v1.Config{Env: []string{"LANG=C.UTF-8", "FOO=1", "PATH=/nix/bin"}},
			func(c *v1.Config) { c.Env = []string{"PATH=/nix/bin", "LANG=C.UTF-8", "HOME=/root", "FOO=1"} }},
		{"labels ports volumes merged", v1.Config{Labels: map[string]string{"b": "ours", "c": "ours"}, ExposedPorts: set{"443/tcp": {}}, Volumes: set{"/cache": {}}},
			func(c *v1.Config) {
				c.Labels = map[string]string{"a": "base", "b": "ours", "c": "ours"}
				c.ExposedPorts = set{"80/tcp": {}, "443/tcp": {}}
				c.Volumes = set{"/data": {}, "/cache": {}}
			}},
		{"cmd set keeps entrypoint", v1.Config{Cmd: []string{"echo", "hi"}}, func(c *v1.Config) { c.Cmd = []string{"echo", "hi"} }},
		{"entrypoint set drops base cmd", v1.Config{Entrypoint: []string{"/bin/hello"}},
			func(c *v1.Config) { c.Entrypoint = []string{"/bin/hello"}; c.Cmd = nil }},
		{"entrypoint and cmd set", v1.Config{Entrypoint: []string{"/bin/hello"}, Cmd: []string{"x"}},
			func(c *v1.Config) { c.Entrypoint = []string{"/bin/hello"}; c.Cmd = []string{"x"} }},
		{"empty cmd list is set", v1.Config{Cmd: []string{}}, func(c *v1.Config) { c.Cmd = []string{} }},
		{"workdir and user", v1.Config{WorkingDir: "/app", User: "nobody"}, func(c *v1.Config) { c.WorkingDir = "/app"; c.User = "nobody" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bf := v1.ConfigFile{Config: base}
			bf = *bf.DeepCopy()
			want := *(&v1.ConfigFile{Config: base}).DeepCopy()
			c.want(&want.Config)
			got := MergeConfig(bf, c.ours)
			if !reflect.DeepEqual(got, want.Config) {
				t.Errorf("got  %+v\nwant %+v", got, want.Config)
			}
			// The result shares no memory with the inputs.
			if got.Env != nil {
				got.Env[0] = "X=1"
			}
			if got.Labels != nil {
				got.Labels["a"] = "changed"
			}
			if bf.Config.Env[0] != base.Env[0] || bf.Config.Labels["a"] != "base" {
				t.Error("MergeConfig result aliases the base config")
			}
		})
	}
	if got := MergeConfig(v1.ConfigFile{}, v1.Config{}); !reflect.DeepEqual(got, v1.Config{}) {
		t.Errorf("empty merge = %+v", got)
	}
}
