package scheduler

import (
	"strings"
)

// affinityFilter places a container next to others: container==X (IDs and names), image==X (image IDs, tags
// and repository names on the node), or any other key, matched against that label of the node's containers.
// == needs one match; != needs none.
type affinityFilter struct{}

func (affinityFilter) applies(r *request) bool { return len(r.ex.affinities) > 0 }

func (affinityFilter) check(r *request, n *nodeView) string {
	for _, e := range r.ex.affinities {
		if e.soft && !r.soft {
			continue
		}
		if !affinityMet(e, n) {
			return e.reason("affinity %q not met on %%s")
		}
	}
	return ""
}

// affinityMet looks an exact container or label value up in the node's index (plus the in-flight containers);
// globs, regexps and images are matched value by value.
func affinityMet(e *expr, n *nodeView) bool {
	if !e.exact || e.key == "image" {
		return e.matchEach(affinityValues(e.key, n))
	}
	found := n.index().has(e.key, e.value)
	if !found && len(n.pending) > 0 {
		found = e.neg != e.matchEach(affinityValues(e.key, &nodeView{Node: &Node{}, pending: n.pending}))
	}
	return found != e.neg
}

// affinityValues yields what an affinity key is matched against on a node.
func affinityValues(key string, n *nodeView) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		switch key {
		case "container":
			n.each(func(c *Container) bool {
				if c.ID != "" && (!yield(c.ID) || !yield(shortID(c.ID))) {
					return false
				}
				for _, name := range c.Names {
					if !yield(name) {
						return false
					}
				}
				return true
			})
		case "image":
			eachImageValue(n, yield)
		default:
			n.each(func(c *Container) bool {
				v, ok := c.Labels[key]
				return !ok || yield(v)
			})
		}
	}
}

func eachImageValue(n *nodeView, yield func(string) bool) {
	for _, im := range n.Images {
		if !yield(im.ID) || !yield(shortID(strings.TrimPrefix(im.ID, "sha256:"))) {
			return
		}
		for _, t := range im.RepoTags {
			if !yield(t) || !yield(repoOf(t)) {
				return
			}
		}
		for _, d := range im.RepoDigests {
			if !yield(d) {
				return
			}
		}
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// repoOf strips the tag: "reg:5000/app:1" is "reg:5000/app".
func repoOf(tag string) string {
	if i := strings.LastIndex(tag, ":"); i > strings.LastIndex(tag, "/") {
		return tag[:i]
	}
	return tag
}
