package sbom

import (
	"fmt"
	"strings"
)

// CheckLicense reports whether s is an SPDX license expression (SPDX 2.3,
// annex D): license identifiers ("MIT", "GPL-2.0-or-later", "Apache-2.0+",
// "LicenseRef-x", "DocumentRef-d:LicenseRef-x") joined by AND and OR, an
// exception after WITH, and parentheses. It checks the syntax only, not
// that an identifier is on the SPDX license list.
func CheckLicense(s string) error {
	p := &licenseParser{toks: tokenizeLicense(s)}
	if len(p.toks) == 0 {
		return fmt.Errorf("license %q is empty", s)
	}
	if err := p.expr(); err != nil {
		return fmt.Errorf("license %q is not an SPDX license expression: %w", s, err)
	}
	if p.i < len(p.toks) {
		return fmt.Errorf("license %q is not an SPDX license expression: unexpected %q", s, p.toks[p.i])
	}
	return nil
}

func tokenizeLicense(s string) []string {
	s = strings.NewReplacer("(", " ( ", ")", " ) ").Replace(s)
	return strings.Fields(s)
}

type licenseParser struct {
	toks []string
	i    int
}

func (p *licenseParser) next() string {
	if p.i >= len(p.toks) {
		return ""
	}
	t := p.toks[p.i]
	p.i++
	return t
}

func (p *licenseParser) peek() string {
	if p.i >= len(p.toks) {
		return ""
	}
	return p.toks[p.i]
}

// expr := term { ("AND" | "OR") term }
func (p *licenseParser) expr() error {
	if err := p.term(); err != nil {
		return err
	}
	for p.peek() == "AND" || p.peek() == "OR" {
		p.next()
		if err := p.term(); err != nil {
			return err
		}
	}
	return nil
}

// term := "(" expr ")" | license [ "WITH" exception ]
func (p *licenseParser) term() error {
	t := p.next()
	switch t {
	case "":
		return fmt.Errorf("it ends where a license should follow")
	case "(":
		if err := p.expr(); err != nil {
			return err
		}
		if p.next() != ")" {
			return fmt.Errorf("a parenthesis is not closed")
		}
		return nil
	}
	if err := checkLicenseID(t); err != nil {
		return err
	}
	if p.peek() == "WITH" {
		p.next()
		e := p.next()
		if !isIDString(e) || isOperator(e) {
			return fmt.Errorf("WITH is followed by %q, not an exception identifier", e)
		}
	}
	return nil
}

func checkLicenseID(t string) error {
	if isOperator(t) || t == ")" {
		return fmt.Errorf("%q stands where a license identifier should", t)
	}
	if doc, ref, ok := strings.Cut(t, ":"); ok {
		if !strings.HasPrefix(doc, "DocumentRef-") || !isIDString(doc) || !strings.HasPrefix(ref, "LicenseRef-") || !isIDString(ref) {
			return fmt.Errorf("%q is not DocumentRef-<id>:LicenseRef-<id>", t)
		}
		return nil
	}
	if !isIDString(strings.TrimSuffix(t, "+")) {
		return fmt.Errorf("%q is not a license identifier (letters, digits, '.' and '-')", t)
	}
	return nil
}

func isOperator(t string) bool { return t == "AND" || t == "OR" || t == "WITH" }

// isIDString reports whether s matches SPDX's idstring: [A-Za-z0-9.-]+.
func isIDString(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isASCIILetter(c) && !('0' <= c && c <= '9') && c != '.' && c != '-' {
			return false
		}
	}
	return true
}
