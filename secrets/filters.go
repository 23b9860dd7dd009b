package secrets

import (
	"cmp"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/errdefs"
)

// listFilters are the filters of GET /secrets and GET /configs.
var listFilters = map[string]bool{"id": true, "name": true, "names": true, "label": true}

// list returns the records of all that match f, sorted by name: id and name are prefixes, names exact
// names, label a key or key=value; an unknown filter is an errdefs.InvalidParameter.
func list[T any](f filters.Args, all []T, m func(T) meta) ([]T, error) {
	if err := f.Validate(listFilters); err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	out := []T{}
	for _, x := range all {
		if matches(f, m(x)) {
			out = append(out, x)
		}
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(m(a).name, m(b).name) })
	return out, nil
}

func matches(f filters.Args, m meta) bool {
	return prefixMatch(f, "id", m.id) && prefixMatch(f, "name", m.name) && f.ExactMatch("names", m.name) &&
		f.MatchKVList("label", m.labels)
}

// prefixMatch: no values for the term, or one of them is a prefix of v.
func prefixMatch(f filters.Args, term, v string) bool {
	if !f.Contains(term) {
		return true
	}
	return slices.ContainsFunc(f.Get(term), func(p string) bool { return strings.HasPrefix(v, p) })
}
