package customize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Spec holds the customisation arguments of a builder. It is embedded in
// spec.Spec, so its fields sit at the top level of the builder's options.
type Spec struct {
	// Users are the image's users besides root (0) and nobody (65534).
	// When Users and Groups are both nil, no user database is written;
	// an empty list writes one with root and nobody only.
	Users []User `json:"users"`
	// Groups are the image's groups besides root, nobody and the groups
	// made for users whose gid names no declared group.
	Groups []Group `json:"groups"`
	// Perms are permission rules applied, in order, to the entries of
	// every layer the image is built from.
	Perms []Perm `json:"perms"`
	// Symlinks maps image paths to symlink targets, kept as they are.
	Symlinks map[string]string `json:"symlinks"`
	// Files maps image paths to file contents.
	Files map[string]File `json:"files"`
	// Directories are directories to create.
	Directories []Directory `json:"directories"`
	// ExtraCommands is a shell script run in an empty directory whose
	// tree is added at the image root.
	ExtraCommands *string `json:"extraCommands"`
	// Shell runs ExtraCommands (as `Shell -c script`).
	Shell *string `json:"shell"`
}

// User is one user of the image.
type User struct {
	Name string `json:"name"`
	Uid  *int64 `json:"uid"`
	// Gid is the primary group; nil makes (or reuses) a group named after
	// the user whose gid is the uid.
	Gid         *int64 `json:"gid"`
	Home        string `json:"home"`  // default /home/<name>
	Shell       string `json:"shell"` // default /bin/sh
	Description string `json:"description"`
	// Groups are the names of supplementary groups.
	Groups []string `json:"groups"`
	// CreateHome, default true, makes the home directory, owned by the
	// user with mode HomeMode (default "0700"). /var/empty is never owned
	// by a user.
	CreateHome *bool  `json:"createHome"`
	HomeMode   string `json:"homeMode"`
}

// Group is one group of the image.
type Group struct {
	Name    string   `json:"name"`
	Gid     *int64   `json:"gid"`
	Members []string `json:"members"`
}

// Perm is a permission rule as the user writes it. Without Regex it
// matches the entry at Path; with Regex, every entry at or below Path
// whose full image path ("/nix/store/…-sudo/bin/sudo") the regular
// expression matches entirely. Each field that is set replaces the
// entry's; a later rule wins over an earlier one.
type Perm struct {
	Path  string  `json:"path"`
	Regex *string `json:"regex"`
	Mode  *string `json:"mode"` // octal, like "4755"
	Uid   *int64  `json:"uid"`
	Gid   *int64  `json:"gid"`
	Uname *string `json:"uname"`
	Gname *string `json:"gname"`
}

// File is the content of a declared file: Text, or the file at Source
// (a store path), with Mode (octal, default "0644", or "0555" for a
// Source that is executable).
type File struct {
	Text   *string `json:"text"`
	Source *string `json:"source"`
	Mode   string  `json:"mode"`
}

// UnmarshalJSON reads a file as a string (its text) or as an object
// {text|source, mode}.
func (f *File) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return err
		}
		*f = File{Text: &s}
		return nil
	}
	type plain File
	return strictDecode(b, (*plain)(f), "a file (a string, or {text or source, mode})")
}

// Directory is a declared directory: Path with Mode (octal, default
// "0755"), owned by root unless a perms rule says otherwise.
type Directory struct {
	Path string `json:"path"`
	Mode string `json:"mode"`
}

// UnmarshalJSON reads a directory as a string (its path) or as an object
// {path, mode}.
func (d *Directory) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '"' {
		*d = Directory{}
		return json.Unmarshal(t, &d.Path)
	}
	type plain Directory
	return strictDecode(b, (*plain)(d), "a directory (a path, or {path, mode})")
}

func strictDecode(b []byte, v any, what string) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("reading %s from %s: %w", what, b, err)
	}
	return nil
}

// MaxID is the largest uid or gid: (uid_t)-1 is reserved.
const MaxID = 1<<32 - 2

// parseMode reads an octal mode of at most 07777 ("0755", "4755", "1777").
// field names the input in errors.
func parseMode(field, s string) (int64, error) {
	m, err := strconv.ParseInt(s, 8, 64)
	if err != nil || s == "" || s[0] == '-' || s[0] == '+' {
		return 0, fmt.Errorf("%s = %q is not an octal mode (like \"0755\" or \"4755\")", field, s)
	}
	if m > 0o7777 {
		return 0, fmt.Errorf("%s = %q is larger than 7777 (the permission, setuid, setgid and sticky bits)", field, s)
	}
	return m, nil
}

// checkID checks that a uid or gid is within 0..MaxID.
func checkID(field string, id int64) error {
	if id < 0 || id > MaxID {
		return fmt.Errorf("%s = %d is out of range (0 to %d)", field, id, int64(MaxID))
	}
	return nil
}
