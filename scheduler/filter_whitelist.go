package scheduler

import (
	"fmt"
	"strings"
)

// whitelistFilter keeps only the nodes named in each whitelist:node==a|b (the key and operator are ignored,
// as in the original).
type whitelistFilter struct{}

func (whitelistFilter) applies(r *request) bool { return len(r.ex.whitelists) > 0 }

func (whitelistFilter) check(r *request, n *nodeView) string {
	for _, list := range r.ex.whitelists {
		ok := false
		for _, name := range list {
			ok = ok || name == n.Name
		}
		if !ok {
			return fmt.Sprintf("not in whitelist %q on %%s", escape(strings.Join(list, "|")))
		}
	}
	return ""
}
