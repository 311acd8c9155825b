package registry

import "strings"

// SplitReference splits "name:tag" or "name@digest" into the name as the
// user wrote it and the tag ("latest" when none is given).
func SplitReference(ref string) (repo, tag string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
		if j := strings.LastIndex(ref, ":"); j > strings.LastIndex(ref, "/") {
			return ref[:j], ref[j+1:]
		}
		return ref, "latest"
	}
	if j := strings.LastIndex(ref, ":"); j > strings.LastIndex(ref, "/") {
		return ref[:j], ref[j+1:]
	}
	return ref, "latest"
}
