package sbom

// ParseDrvName splits a derivation or store path name the way Nix's
// builtins.parseDrvName does: the name is everything before the first dash
// that is followed by a character other than an ASCII letter, the version
// everything after that dash. "hello-2.12" is ("hello", "2.12"),
// "apache-httpd-2.0.48" is ("apache-httpd", "2.0.48"), "foo-bar" is
// ("foo-bar", ""), and a trailing dash is part of the name ("foo-" is
// ("foo-", "")). An output suffix stays in the version, as in Nix:
// "openssl-3.0.13-bin" is ("openssl", "3.0.13-bin").
func ParseDrvName(s string) (name, version string) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '-' && !isASCIILetter(s[i+1]) {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// isASCIILetter is C's isalpha in the "C" locale, which Nix uses.
func isASCIILetter(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}
