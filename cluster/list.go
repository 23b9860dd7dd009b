package cluster

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/errdefs"
)

// ListOptions is GET /containers/json's query.
type ListOptions struct {
	All     bool
	Limit   int
	Before  string
	Since   string
	Filters filters.Args
}

var listFilterKeys = map[string]bool{
	"name": true, "id": true, "label": true, "status": true, "node": true, "health": true, "exited": true,
	"volume": true, "network": true, "ancestor": true, "is-task": true, "before": true, "since": true,
}

var validStates = map[string]bool{"created": true, "running": true, "paused": true, "restarting": true,
	"removing": true, "exited": true, "dead": true}

// ListContainers renders the cached containers as the engine's list would, for the whole cluster: names carry
// the node ("/node-1/web"), published 0.0.0.0 ports show the node's IP, and containers on an unhealthy node
// read "Host Down". Newest first.
func (c *Cluster) ListContainers(ctx context.Context, opts ListOptions) ([]container.Summary, error) {
	kept, err := c.lister.listed(ctx, opts)
	if err != nil {
		return nil, err
	}
	out := make([]container.Summary, 0, len(kept))
	now := time.Now()
	for _, ct := range kept {
		out = append(out, render(ct, ct.Engine.Healthy(), now))
	}
	return out, nil
}

// ListContainersJSON is ListContainers as the API answers it: the list, written by its WriteJSON, is made of
// each engine's entries kept encoded (but for the status text, rendered as of the answer), so a list of
// hundreds of thousands of containers is mostly copied rather than encoded.
func (c *Cluster) ListContainersJSON(ctx context.Context, opts ListOptions) (ContainerList, error) {
	kept, err := c.lister.listed(ctx, opts)
	return ContainerList{containers: kept, now: time.Now()}, err
}

// lister makes container lists. Every cached container, newest first, is kept (newest) while no engine's
// containers changed and the engines are the same: a fleet that is only listed sorts once.
type lister struct {
	pool    *pool
	find    func(ref string) (*Container, error) // before= and since= name containers
	refresh refreshFlags
	newest  atomic.Pointer[sortedContainers]
}

// refreshFlags are the original's --refresh-on-node-filter and --container-name-refresh-filter.
type refreshFlags struct {
	onNodeFilter bool
	nameFilter   string
}

// listed is what a list with these options shows: validated, filtered, newest first, limited.
func (c *lister) listed(ctx context.Context, opts ListOptions) ([]*Container, error) {
	if err := opts.Filters.Validate(listFilterKeys); err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	for _, s := range opts.Filters.Get("status") {
		if !validStates[s] {
			return nil, errdefs.InvalidParameter(fmt.Errorf("invalid filter 'status=%s'", s))
		}
	}
	if opts.Filters.Contains("status") || opts.Filters.Contains("exited") {
		opts.All = true
	}
	c.refreshForList(ctx, opts.Filters)
	m := newListMatcher(opts.Filters)
	all := c.newestFirst()
	var kept []*Container
	if opts.Filters.Len() == 0 { // a filter keeps few: sized for all, it would cost 8 bytes a container a call
		kept = make([]*Container, 0, len(all))
	}
	for _, ct := range all {
		if !opts.All && opts.Limit <= 0 && (!ct.Running() || !ct.Engine.Healthy()) {
			continue
		}
		if m.match(ct) {
			kept = append(kept, ct)
		}
	}
	kept, err := applyBeforeSince(kept, opts, c.find)
	if err != nil {
		return nil, err
	}
	if opts.Limit > 0 && len(kept) > opts.Limit {
		kept = kept[:opts.Limit]
	}
	return kept, nil
}

// refreshForList re-reads engines' containers before a list, as the original's flags ask: with
// --refresh-on-node-filter, the engines a node= filter names; with --container-name-refresh-filter V, every
// engine when the list's name= filter is V. An engine that cannot be read is listed from its cache.
func (c *lister) refreshForList(ctx context.Context, f filters.Args) {
	var engines []*Engine
	switch {
	case c.refresh.nameFilter != "" && f.ExactMatch("name", c.refresh.nameFilter) && len(f.Get("name")) == 1:
		engines = c.pool.all()
	case c.refresh.onNodeFilter && f.Contains("node"):
		for _, e := range c.pool.all() {
			if f.ExactMatch("node", e.Name()) || f.ExactMatch("node", e.ID()) {
				engines = append(engines, e)
			}
		}
	}
	if len(engines) == 0 {
		return
	}
	FanOut(ctx, Healthy(engines), func(ctx context.Context, e *Engine) (struct{}, error) {
		return struct{}{}, e.store.refresh(ctx)
	})
}

// sortedContainers is every cached container, newest first, as of a count of changes and an engine list.
type sortedContainers struct {
	changes uint64
	engines []*Engine
	list    []*Container // never changed once stored
}

// newestFirst returns every cached container, newest first (ties by ID); the slice must not be changed.
func (c *lister) newestFirst() []*Container {
	changes := c.pool.set.containers.Load() // before reading: a change while the list is built makes it stale at once
	engines := c.pool.all()
	if s := c.newest.Load(); s != nil && s.changes == changes && slices.Equal(s.engines, engines) {
		return s.list
	}
	n := 0
	for _, e := range engines {
		n += e.store.count()
	}
	all := make([]*Container, 0, n)
	for _, e := range engines {
		all = e.store.appendTo(all)
	}
	slices.SortFunc(all, func(a, b *Container) int {
		if a.Created != b.Created {
			return cmp.Compare(b.Created, a.Created)
		}
		return strings.Compare(a.ID, b.ID)
	})
	c.newest.Store(&sortedContainers{changes: changes, engines: engines, list: all})
	return all
}

func applyBeforeSince(all []*Container, opts ListOptions, find func(string) (*Container, error)) ([]*Container, error) {
	before, since := opts.Before, opts.Since
	if v := opts.Filters.Get("before"); len(v) > 0 {
		before = v[0]
	}
	if v := opts.Filters.Get("since"); len(v) > 0 {
		since = v[0]
	}
	for _, bound := range []struct {
		ref  string
		keep func(x, b *Container) bool
	}{
		{before, func(x, b *Container) bool { return x.Created < b.Created }},
		{since, func(x, b *Container) bool { return x.Created > b.Created }},
	} {
		if bound.ref == "" {
			continue
		}
		b, err := find(bound.ref)
		if err != nil {
			return nil, err
		}
		all = slices.DeleteFunc(slices.Clone(all), func(x *Container) bool { return !bound.keep(x, b) })
	}
	return all, nil
}

// listMatcher applies list filters; the name and id values (regular expressions, as the engine reads them)
// are compiled once per request rather than once per container.
type listMatcher struct {
	f        filters.Args
	name, id *patterns
}

func newListMatcher(f filters.Args) *listMatcher {
	return &listMatcher{f: f, name: compilePatterns(f.Get("name")), id: compilePatterns(f.Get("id"))}
}

// patterns match a value equal to one of them or matched by one of them as a regexp (an invalid regexp only
// matches itself), as filters.Args.Match does. Plain text (a regexp without operators, what a name filter
// usually is) is matched as a substring, without the regexp engine.
type patterns struct {
	texts []string // plain text: a value matches if it contains one
	exact map[string]bool
	res   []*regexp.Regexp
}

func compilePatterns(vals []string) *patterns {
	p := &patterns{exact: map[string]bool{}}
	for _, v := range vals {
		if regexp.QuoteMeta(v) == v { // no operator: the regexp matches where the text is
			p.texts = append(p.texts, v)
			continue
		}
		if re, err := regexp.Compile(v); err != nil {
			p.exact[v] = true
		} else {
			p.exact[v] = true
			p.res = append(p.res, re)
		}
	}
	return p
}

func (p *patterns) match(s string) bool {
	for _, t := range p.texts {
		if strings.Contains(s, t) {
			return true
		}
	}
	if p.exact[s] {
		return true
	}
	for _, re := range p.res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// matchOnNode is match(node + "/" + name), without making that string when every pattern is plain text
// without a slash.
func (p *patterns) matchOnNode(node, name string) bool {
	for _, t := range p.texts {
		if strings.Contains(t, "/") {
			return p.match(node + "/" + name)
		}
		if strings.Contains(node, t) || strings.Contains(name, t) {
			return true
		}
	}
	return (len(p.exact) > 0 || len(p.res) > 0) && p.match(node+"/"+name)
}

func (m *listMatcher) match(ct *Container) bool {
	f := m.f
	if f.Len() == 0 {
		return true
	}
	if f.Contains("name") && !anyName(ct, m.name) {
		return false
	}
	if f.Contains("id") && !m.id.match(ct.ID) {
		return false
	}
	if !f.MatchKVList("label", ct.Labels) {
		return false
	}
	if f.Contains("status") && !f.ExactMatch("status", ct.State) {
		return false
	}
	if f.Contains("node") && !f.ExactMatch("node", ct.Engine.Name()) && !f.ExactMatch("node", ct.Engine.ID()) {
		return false
	}
	if f.Contains("is-task") {
		_, task := ct.Labels["com.docker.swarm.task"]
		if !f.ExactMatch("is-task", strconv.FormatBool(task)) {
			return false
		}
	}
	return matchDetails(ct, f)
}

func matchDetails(ct *Container, f filters.Args) bool {
	if f.Contains("ancestor") && !f.ExactMatch("ancestor", ct.Image) && !f.ExactMatch("ancestor", ct.ImageID) &&
		!f.ExactMatch("ancestor", strings.Split(ct.Image, ":")[0]) {
		return false
	}
	if f.Contains("exited") {
		if ct.State != "exited" || ct.RunState == nil || !f.ExactMatch("exited", strconv.Itoa(ct.RunState.ExitCode)) {
			return false
		}
	}
	if f.Contains("health") {
		h := "none"
		if ct.RunState != nil && ct.RunState.Health != nil {
			h = ct.RunState.Health.Status
		}
		if !f.ExactMatch("health", h) {
			return false
		}
	}
	if f.Contains("volume") && !matchAny(f, "volume", mountNames(ct)) {
		return false
	}
	if f.Contains("network") && !matchAny(f, "network", networkNames(ct)) {
		return false
	}
	return true
}

func anyName(ct *Container, p *patterns) bool {
	var node string
	for _, n := range ct.Names {
		if n = trimSlash(n); p.match(n) {
			return true
		}
		if node == "" {
			node = ct.Engine.Name()
		}
		if p.matchOnNode(node, n) {
			return true
		}
	}
	return false
}

func matchAny(f filters.Args, key string, vals []string) bool {
	for _, v := range vals {
		if f.ExactMatch(key, v) {
			return true
		}
	}
	return false
}

func mountNames(ct *Container) []string {
	var out []string
	for _, m := range ct.Mounts {
		out = append(out, m.Name, m.Destination, m.Source)
	}
	return out
}

func networkNames(ct *Container) []string {
	var out []string
	if ct.NetworkSettings != nil {
		for n, ep := range ct.NetworkSettings.Networks {
			out = append(out, n)
			if ep != nil {
				out = append(out, ep.NetworkID)
			}
		}
	}
	return out
}

// render copies a cached container into what the list answers, its status as of now.
func render(ct *Container, healthy bool, now time.Time) container.Summary {
	s := renderOn(ct, ct.Engine.Name(), ct.Engine.IP())
	s.Status = ct.status(now)
	if !healthy {
		s.Status = "Host Down"
	}
	return s
}

// renderOn is a container's list entry on the node named node at ip, with the engine's status text.
func renderOn(ct *Container, node, ip string) container.Summary {
	s := ct.Summary
	s.Names = make([]string, len(ct.Names))
	for i, n := range ct.Names {
		s.Names[i] = "/" + node + "/" + trimSlash(n)
	}
	if len(ct.Ports) > 0 {
		s.Ports = append([]container.Port(nil), ct.Ports...)
		for i := range s.Ports {
			if s.Ports[i].IP == "0.0.0.0" {
				s.Ports[i].IP = ip
			}
		}
	}
	return s
}
