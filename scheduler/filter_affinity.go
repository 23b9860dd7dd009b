package scheduler

import (
	"fmt"
	"strings"
)

// affinityFilter places a container next to others: container==X (IDs and names), image==X (image IDs, tags
// and repository names on the node), or any other key, matched against that label of the node's containers.
// == needs one match; != needs none.
type affinityFilter struct{}

func (affinityFilter) check(r *request, n *nodeView) string {
	for _, e := range r.ex.affinities {
		if e.soft && !r.soft {
			continue
		}
		if !e.match(affinityValues(e.key, n)...) {
			return fmt.Sprintf("affinity %q not met on %%s", escape(e.String()))
		}
	}
	return ""
}

func affinityValues(key string, n *nodeView) []string {
	var vals []string
	switch key {
	case "container":
		n.each(func(c *Container) bool {
			if c.ID != "" {
				vals = append(vals, c.ID, shortID(c.ID))
			}
			vals = append(vals, c.Names...)
			return true
		})
	case "image":
		for _, im := range n.Images {
			vals = append(vals, im.ID, shortID(strings.TrimPrefix(im.ID, "sha256:")))
			for _, t := range im.RepoTags {
				vals = append(vals, t, repoOf(t))
			}
			vals = append(vals, im.RepoDigests...)
		}
	default:
		n.each(func(c *Container) bool {
			if v, ok := c.Labels[key]; ok {
				vals = append(vals, v)
			}
			return true
		})
	}
	return vals
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
