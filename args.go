package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs returns args (the program name first) with each command's
// flags moved before its positional arguments, so that flags may come
// anywhere, as crane and skopeo take them: `nixlayer pin IMAGE --json`
// parses as `nixlayer pin --json IMAGE` (urfave/cli stops parsing flags at
// the first positional argument). A flag that takes a value keeps the
// token after it, as the command's flag definitions say; `--` ends the
// flags, and what follows it stays positional. Arguments of an unknown
// command are left as they are.
func reorderArgs(app *cli.App, args []string) []string {
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		i++ // the app's own flags (--help, --version) take no value
	}
	if i >= len(args) {
		return args
	}
	cmd := app.Command(args[i])
	if cmd == nil || cmd.SkipFlagParsing {
		return args
	}
	takesValue := valueFlags(cmd)
	flags := append([]string{}, args[:i+1]...)
	var positional []string
	rest := args[i+1:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		switch {
		case a == "--":
			return append(append(append(flags, "--"), positional...), rest[j+1:]...)
		case len(a) < 2 || a[0] != '-':
			positional = append(positional, a)
		default:
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue[name] && j+1 < len(rest) {
				j++
				flags = append(flags, rest[j])
			}
		}
	}
	return append(flags, positional...)
}

// valueFlags returns the names (and aliases) of cmd's flags that take a
// value.
func valueFlags(cmd *cli.Command) map[string]bool {
	m := map[string]bool{}
	for _, f := range cmd.Flags {
		v, ok := f.(cli.DocGenerationFlag)
		if !ok || !v.TakesValue() {
			continue
		}
		for _, n := range f.Names() {
			m[n] = true
		}
	}
	return m
}
