package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Timestamp is the mtime argument as the user gave it: a JSON number of
// seconds, or a string holding seconds, an ISO-8601 date or "now".
type Timestamp string

// UnmarshalJSON reads a number or a string.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Timestamp(s)
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	n, ok := v.(json.Number)
	if !ok {
		return fmt.Errorf("mtime must be a number of seconds or a date string, not %s", b)
	}
	*t = Timestamp(n)
	return nil
}

// isoLayouts are the ISO-8601 forms mtime takes (those of Python's
// datetime.fromisoformat that dockerTools' examples use); a date without a
// zone is UTC.
var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02",
}

// Time parses the timestamp, reading now for "now"; the result is UTC,
// whole seconds.
func (t Timestamp) Time(now func() time.Time) (time.Time, error) {
	s := string(t)
	if s == "now" {
		return now().UTC().Truncate(time.Second), nil
	}
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil {
		if sec < 0 {
			return time.Time{}, fmt.Errorf("mtime = %s is negative", s)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	for _, l := range isoLayouts {
		if tm, err := time.Parse(l, s); err == nil {
			if tm.Unix() < 0 {
				return time.Time{}, fmt.Errorf("mtime = %q is before 1970", s)
			}
			return tm.UTC().Truncate(time.Second), nil
		}
	}
	return time.Time{}, fmt.Errorf("mtime = %q is not a number of seconds, an ISO-8601 date (like %s) or \"now\"", s, DefaultCreated)
}
