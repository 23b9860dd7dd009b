package scheduler

import (
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/container"
)

// dependencyFilter keeps a container with the containers it depends on: --volumes-from X, --link X:alias and
// --net container:X must all be on the node (X may be written /X, as the engine accepts it).
type dependencyFilter struct{}

func (dependencyFilter) applies(r *request) bool { return len(r.deps) > 0 }

func (dependencyFilter) check(r *request, n *nodeView) string {
	for _, d := range r.deps {
		if !hasContainer(n, d.name) {
			return fmt.Sprintf("container %q (%s) not on %%s", escape(d.name), d.via)
		}
	}
	return ""
}

type dependency struct{ name, via string }

func dependencies(hc *container.HostConfig) []dependency {
	var out []dependency
	for _, v := range hc.VolumesFrom {
		out = append(out, dependency{strings.TrimPrefix(strings.SplitN(v, ":", 2)[0], "/"), "--volumes-from"})
	}
	for _, l := range hc.Links {
		out = append(out, dependency{strings.TrimPrefix(strings.SplitN(l, ":", 2)[0], "/"), "--link"})
	}
	if mode := string(hc.NetworkMode); strings.HasPrefix(mode, "container:") {
		out = append(out, dependency{strings.TrimPrefix(strings.TrimPrefix(mode, "container:"), "/"), "--net"})
	}
	return out
}

// hasContainer finds a container by name or by (a prefix of) its ID.
func hasContainer(n *nodeView, ref string) bool {
	found := n.index().hasRef(ref, n.Containers)
	n.eachPending(func(c *Container) bool {
		found = found || (ref != "" && c.ID != "" && strings.HasPrefix(c.ID, ref))
		for _, name := range c.Names {
			found = found || name == ref
		}
		return !found
	})
	return found
}

func escape(s string) string { return strings.ReplaceAll(s, "%", "%%") }
