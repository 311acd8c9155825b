package base

import (
	"maps"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// MergeConfig returns our config on top of the base image's:
//   - Env is merged by variable name: ours replace the base's in place,
//     new ones are appended in our order.
//   - Labels, ExposedPorts and Volumes are merged, ours winning.
//   - Entrypoint, Cmd, WorkingDir, User and every other field are the
//     base's unless ours sets them; as in Docker, setting Entrypoint
//     without Cmd drops the base's Cmd (it was the base entrypoint's
//     arguments, not ours).
//
// Neither argument is modified; the result shares no memory with them.
func MergeConfig(base v1.ConfigFile, ours v1.Config) v1.Config {
	b := base.Config
	out := ours
	out.Env = mergeEnv(b.Env, ours.Env)
	out.Labels = mergeMap(b.Labels, ours.Labels)
	out.ExposedPorts = mergeMap(b.ExposedPorts, ours.ExposedPorts)
	out.Volumes = mergeMap(b.Volumes, ours.Volumes)
	out.Entrypoint = pick(ours.Entrypoint, b.Entrypoint)
	if ours.Entrypoint != nil && ours.Cmd == nil {
		out.Cmd = nil
	} else {
		out.Cmd = pick(ours.Cmd, b.Cmd)
	}
	out.Shell = pick(ours.Shell, b.Shell)
	out.OnBuild = pick(ours.OnBuild, b.OnBuild)
	if out.Healthcheck == nil && b.Healthcheck != nil {
		h := *b.Healthcheck
		h.Test = slices.Clone(h.Test)
		out.Healthcheck = &h
	} else if out.Healthcheck != nil {
		h := *out.Healthcheck
		h.Test = slices.Clone(h.Test)
		out.Healthcheck = &h
	}
	for _, s := range []struct {
		o *string
		b string
	}{
		{&out.WorkingDir, b.WorkingDir}, {&out.User, b.User}, {&out.StopSignal, b.StopSignal},
		{&out.Hostname, b.Hostname}, {&out.Domainname, b.Domainname}, {&out.Image, b.Image},
		{&out.MacAddress, b.MacAddress},
	} {
		if *s.o == "" {
			*s.o = s.b
		}
	}
	for _, f := range []struct {
		o *bool
		b bool
	}{
		{&out.AttachStdin, b.AttachStdin}, {&out.AttachStdout, b.AttachStdout}, {&out.AttachStderr, b.AttachStderr},
		{&out.Tty, b.Tty}, {&out.OpenStdin, b.OpenStdin}, {&out.StdinOnce, b.StdinOnce},
		{&out.ArgsEscaped, b.ArgsEscaped}, {&out.NetworkDisabled, b.NetworkDisabled},
	} {
		*f.o = *f.o || f.b
	}
	return out
}

// pick returns a copy of ours when set (non-nil), else of base's.
func pick(ours, base []string) []string {
	if ours != nil {
		return slices.Clone(ours)
	}
	return slices.Clone(base)
}

// mergeEnv merges NAME=value lists by name, ours winning.
func mergeEnv(base, ours []string) []string {
	if base == nil && ours == nil {
		return nil
	}
	out := slices.Clone(base)
	at := map[string]int{}
	for i, kv := range out {
		at[envName(kv)] = i
	}
	for _, kv := range ours {
		if i, ok := at[envName(kv)]; ok {
			out[i] = kv
			continue
		}
		at[envName(kv)] = len(out)
		out = append(out, kv)
	}
	return out
}

func envName(kv string) string {
	name, _, _ := strings.Cut(kv, "=")
	return name
}

// mergeMap returns base's entries overridden by ours, nil when both are.
func mergeMap[V any](base, ours map[string]V) map[string]V {
	if base == nil && ours == nil {
		return nil
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]V{}
	}
	maps.Copy(out, ours)
	return out
}
