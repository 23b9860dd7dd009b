package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/errdefs"
)

const callTimeout = 30 * time.Second

// startRefreshTimer arms the engine's periodic refresh: the cache is re-read (periodicRefresh) at a random
// moment between the min and max intervals (so thousands of engines do not refresh together), or at once when
// nudged. No goroutine waits in between (at 10,000 engines, a parked goroutine each was 10,000 stacks for the
// garbage collector to scan); refreshes of one engine never overlap, and nudges while one is due are coalesced.
func (e *Engine) startRefreshTimer(ctx context.Context) {
	t := time.AfterFunc(time.Hour, func() { e.refreshTick(ctx) })
	t.Stop()
	e.timer.Store(t)
	context.AfterFunc(ctx, func() { t.Stop() })
	t.Reset(e.refreshWait())
}

func (e *Engine) refreshWait() time.Duration {
	wait := e.set.refreshMin
	if spread := e.set.refreshMax - e.set.refreshMin; spread > 0 {
		wait += rand.N(spread)
	}
	return wait
}

func (e *Engine) refreshTick(ctx context.Context) {
	e.ticking.Lock()
	defer e.ticking.Unlock()
	nudged := e.nudged.Swap(false)
	if ctx.Err() != nil {
		return
	}
	if e.State() == StateHealthy { // the event monitor probes an unhealthy engine and refreshes when it is back
		e.periodicRefresh(ctx, nudged)
	}
	if ctx.Err() == nil && !e.nudged.Load() {
		e.timer.Load().Reset(e.refreshWait())
	}
}

// nudge asks for a refresh now (after the one under way, if any).
func (e *Engine) nudge() {
	if t := e.timer.Load(); t != nil && e.nudged.CompareAndSwap(false, true) {
		t.Reset(0)
	}
}

// sideListsEvery is how often a periodic refresh also re-reads the engine's images, networks and volumes: at
// every sideListsEvery-th one, at every nudge, and whenever the engine (re)connects. Between those, the event
// stream keeps them (each image, network or volume event re-reads its list, and a broken stream is followed
// by a whole refresh), so re-reading them each time only cost three calls of four per refresh: at 10,000
// engines, most of the periodic refresh's requests (BENCHMARKS.md).
const sideListsEvery = 4

// periodicRefresh is a refresh of the timer's (nudged: asked for by RefreshContainersAsync): the containers
// every time, the other lists as sideListsEvery says. Callers hold e.ticking.
func (e *Engine) periodicRefresh(ctx context.Context, nudged bool) {
	if e.ticks++; nudged || e.ticks%sideListsEvery == 0 {
		e.refreshAll(ctx)
		return
	}
	if e.refreshContainers(ctx) == nil {
		e.removeDoomed(ctx)
	}
}

// refreshAll re-reads containers, images, networks and volumes.
func (e *Engine) refreshAll(ctx context.Context) error {
	if err := e.refreshContainers(ctx); err != nil {
		return err
	}
	e.RefreshImages(ctx)
	e.RefreshNetworks(ctx)
	e.RefreshVolumes(ctx)
	e.removeDoomed(ctx)
	return nil
}

// refreshContainers lists all containers and inspects the new ones and those whose state changed. A list that
// shows what the last one did (status texts aside) on an engine whose cache did not change since is not decoded.
func (e *Engine) refreshContainers(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	listStart := time.Now()
	buf := answerBuffers.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	if _, err := e.Do(cctx, http.MethodGet, "", "/containers/json", url.Values{"all": {"1"}}, nil, nil, buf); err != nil {
		return err
	}
	sum := containerListSum(buf.Bytes())
	if e.listedAgain(sum, buf.Bytes(), listStart) {
		return nil
	}
	var list []container.Summary
	if err := json.Unmarshal(buf.Bytes(), &list); err != nil {
		return fmt.Errorf("node %s: invalid container list: %w", e.Name(), err)
	}
	// The cached entries are looked up under the lock: the map is changed in place by re-reads meanwhile.
	prevs := make([]*Container, len(list))
	e.mu.RLock()
	for i := range list {
		prevs[i] = e.containers[list[i].ID]
	}
	ncpu := int64(e.info.NCPU)
	e.mu.RUnlock()
	next := make(map[string]*Container, len(list))
	for i, s := range list {
		prev := prevs[i]
		if prev != nil && prev.State == s.State && prev.RunState != nil && !prev.provisional {
			if sameListing(prev, &s) {
				next[s.ID] = prev // unchanged: keep the entry (its status text is rendered when listed)
			} else {
				e.forgetInspect(s.ID)
				next[s.ID] = prev.relisted(s)
			}
			continue
		}
		e.forgetInspect(s.ID)
		info, err := e.inspect(cctx, s.ID)
		if err != nil {
			if errdefs.IsNotFound(err) {
				continue
			}
			return err
		}
		next[s.ID] = e.newContainer(s, &info, listStart, ncpu)
	}
	e.mu.Lock()
	// Changes seen by events or calls while the list was being read win over the (older) list.
	for id, c := range e.containers {
		if c.seen.After(listStart) {
			next[id] = c
		}
	}
	for id, at := range e.removed {
		if at.After(listStart) {
			delete(next, id)
		} else {
			delete(e.removed, id)
		}
	}
	if !samePointers(next, e.containers) { // an unchanged engine keeps its derived views
		e.containers = next
		e.changed()
	}
	for id, cid := range e.execs {
		if next[cid] == nil {
			delete(e.execs, id)
		}
	}
	e.listSums.containers, e.listed = sum, e.changes
	e.updatedAt = time.Now()
	e.mu.Unlock()
	return nil
}

// listedAgain tells whether a container list (its sum, its bytes) is the one last taken in, with the cache
// unchanged since and holding exactly the containers listed: then the refresh is done, and only the removals it
// no longer needs to remember are forgotten.
func (e *Engine) listedAgain(sum uint64, list []byte, listStart time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if sum != e.listSums.containers || e.changes != e.listed || !e.cachesExactly(list) {
		return false
	}
	for id, at := range e.removed {
		if !at.After(listStart) {
			delete(e.removed, id)
		}
	}
	e.updatedAt = time.Now()
	return true
}

// cachesExactly tells whether the cache holds exactly the containers of a list (their "Id"s, counted in its
// bytes; a label named Id only makes the answer no). Callers hold e.mu.
func (e *Engine) cachesExactly(list []byte) bool {
	key := []byte(`"Id":"`)
	n := 0
	for {
		i := bytes.Index(list, key)
		if i < 0 {
			return n == len(e.containers)
		}
		list = list[i+len(key):]
		j := bytes.IndexByte(list, '"')
		if j < 0 || e.containers[string(list[:j])] == nil {
			return false
		}
		list, n = list[j:], n+1
	}
}

// containerListSum is the hash of an engine's container list without its status texts ("Up 5 minutes"): they
// move with the clock, and the cache renders them when listed (a health change comes as an event).
func containerListSum(b []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(listSeed)
	key := []byte(`"Status":"`)
	for {
		i := bytes.Index(b, key)
		if i < 0 {
			break
		}
		h.Write(b[:i+len(key)])
		b = b[i+len(key):]
		j := 0
		for j < len(b) && b[j] != '"' {
			if b[j] == '\\' {
				j++
			}
			j++
		}
		b = b[min(j, len(b)):]
	}
	h.Write(b)
	return h.Sum64()
}

// sameListing tells whether a list entry shows nothing new about a cached container of the same state.
func sameListing(c *Container, s *container.Summary) bool {
	return slices.Equal(c.Names, s.Names) && c.Image == s.Image && c.ImageID == s.ImageID &&
		c.Command == s.Command && maps.Equal(c.Labels, s.Labels) && slices.Equal(c.Ports, s.Ports)
}

func samePointers(a, b map[string]*Container) bool {
	if len(a) != len(b) {
		return false
	}
	for id, c := range a {
		if b[id] != c {
			return false
		}
	}
	return true
}

// refreshContainer re-reads one container (one inspect: its list entry is made from it); it is dropped from
// the cache when the engine no longer has it.
func (e *Engine) refreshContainer(ctx context.Context, id string) (*Container, error) {
	return e.reread(ctx, id, e.startRefresh(id, false))
}

// reread is refreshContainer once its start was recorded.
func (e *Engine) reread(ctx context.Context, id string, start time.Time) (*Container, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	defer e.endRefresh(id, start)
	info, err := e.inspect(cctx, id)
	if err != nil && !errdefs.IsNotFound(err) {
		return nil, err
	}
	var c *Container
	if err == nil && info.ContainerJSONBase != nil && info.ID == id {
		c = e.newContainer(summaryOf(&info), &info, start, e.ncpu())
	}
	e.mu.Lock()
	if at, ok := e.removed[id]; ok && at.After(start) {
		c = nil // removed while this look was under way: what it saw is stale
	}
	if c == nil {
		delete(e.containers, id)
		e.markRemoved(id)
		for x, cid := range e.execs {
			if cid == id {
				delete(e.execs, x)
			}
		}
	} else {
		e.containers[id] = c
	}
	e.changed()
	doomed := c != nil && e.doomed[c.SwarmID()] != nil
	e.mu.Unlock()
	if doomed {
		e.removeDoomed(ctx)
	}
	return c, nil
}

// inspect reads one container from the engine (the parts the cache keeps, see decodeInspect); a container the
// engine does not have is an errdefs not-found error. The answer is read into a pooled buffer and decoded from
// it (the Docker client's decoder grew a fresh buffer for each answer).
func (e *Engine) inspect(ctx context.Context, id string) (container.InspectResponse, error) {
	var info container.InspectResponse
	buf := answerBuffers.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	if _, err := e.Do(ctx, http.MethodGet, "", "/containers/"+url.PathEscape(id)+"/json", nil, nil, nil, buf); err != nil {
		if engineStatus(err) == http.StatusNotFound {
			return info, errdefs.NotFound(err)
		}
		return info, err
	}
	info, err := decodeInspect(buf.Bytes())
	if err != nil {
		return info, fmt.Errorf("node %s answered inspect of %s with invalid JSON: %w", e.Name(), id, err)
	}
	return info, nil
}

// answerBuffers hold engine answers (inspects, lists) while they are decoded.
var answerBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (e *Engine) RefreshImages(ctx context.Context) {
	var imgs []image.Summary
	if !e.readList(ctx, "/images/json", &e.listSums.images, &imgs) {
		return
	}
	e.mu.Lock()
	if !sameImages(e.images, imgs) {
		e.changedBesideContainers()
	}
	e.images = imgs
	e.mu.Unlock()
}

// sameImages tells whether two image lists show the same images under the same names (what the scheduler
// and the views derived from the engine use).
func sameImages(a, b []image.Summary) bool {
	return slices.EqualFunc(a, b, func(x, y image.Summary) bool {
		return x.ID == y.ID && slices.Equal(x.RepoTags, y.RepoTags) && slices.Equal(x.RepoDigests, y.RepoDigests)
	})
}

func (e *Engine) RefreshNetworks(ctx context.Context) {
	var nets []network.Inspect
	if !e.readList(ctx, "/networks", &e.listSums.networks, &nets) {
		return
	}
	e.mu.Lock()
	e.networks = nets
	e.mu.Unlock()
}

func (e *Engine) RefreshVolumes(ctx context.Context) {
	var vols volume.ListResponse
	if !e.readList(ctx, "/volumes", &e.listSums.volumes, &vols) {
		return
	}
	e.mu.Lock()
	e.volumes = vols.Volumes
	e.mu.Unlock()
}

// listSums are the hashes of the last container, image, network and volume lists an engine gave (under e.mu).
type listSums struct{ containers, images, networks, volumes uint64 }

var listSeed = maphash.MakeSeed()

// readList reads an engine's list at path and decodes it into out, unless it is byte for byte the list last
// read there (*sum, its hash): a refresh of an engine where nothing changed then decodes nothing. It tells
// whether out was filled; a failed read leaves the cache as it was.
func (e *Engine) readList(ctx context.Context, path string, sum *uint64, out any) bool {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	buf := answerBuffers.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	if _, err := e.Do(cctx, http.MethodGet, "", path, nil, nil, nil, buf); err != nil {
		return false
	}
	h := maphash.Bytes(listSeed, buf.Bytes())
	e.mu.RLock()
	same := *sum == h
	e.mu.RUnlock()
	if same || json.Unmarshal(buf.Bytes(), out) != nil {
		return false
	}
	e.mu.Lock()
	*sum = h
	e.mu.Unlock()
	return true
}

func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= 1<<20 {
		buf.Reset()
		answerBuffers.Put(buf)
	}
}

// Containers returns the cached containers (all states).
func (e *Engine) Containers() []*Container {
	return e.appendContainers(make([]*Container, 0, e.containerCount()))
}

// appendContainers appends the cached containers to out.
func (e *Engine) appendContainers(out []*Container) []*Container {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, c := range e.containers {
		out = append(out, c)
	}
	return out
}

func (e *Engine) containerCount() int { e.mu.RLock(); defer e.mu.RUnlock(); return len(e.containers) }

// Images returns the cached images.
func (e *Engine) Images() []image.Summary { e.mu.RLock(); defer e.mu.RUnlock(); return e.images }

// Networks returns the cached networks.
func (e *Engine) Networks() []network.Inspect { e.mu.RLock(); defer e.mu.RUnlock(); return e.networks }

// Volumes returns the cached volumes.
func (e *Engine) Volumes() []*volume.Volume { e.mu.RLock(); defer e.mu.RUnlock(); return e.volumes }

// startRefresh records that a re-read of container id begins now, for readSinceLocked; kept says it is the
// re-read a caller promised (see promise), whose promise it ends.
func (e *Engine) startRefresh(id string, kept bool) time.Time {
	e.forgetInspect(id)
	now := time.Now()
	e.mu.Lock()
	if e.refreshing == nil {
		e.refreshing = map[string]time.Time{}
	}
	if now.After(e.refreshing[id]) {
		e.refreshing[id] = now
	}
	if kept {
		if e.promised[id]--; e.promised[id] <= 0 {
			delete(e.promised, id)
		}
	}
	e.mu.Unlock()
	return now
}

// promise notes that the caller is about to change container id through the engine and will re-read it once
// the engine answered, with the function returned (it must be called; calls after the first do nothing).
// Events about the container that arrive before that re-read begins need none of their own: it begins after
// them and sees what they report.
func (e *Engine) promise(id string) (reread func(ctx context.Context)) {
	e.mu.Lock()
	if e.promised == nil {
		e.promised = map[string]int{}
	}
	e.promised[id]++
	e.mu.Unlock()
	var once sync.Once
	return func(ctx context.Context) { once.Do(func() { e.reread(ctx, id, e.startRefresh(id, true)) }) }
}

func (e *Engine) endRefresh(id string, started time.Time) {
	e.mu.Lock()
	if e.refreshing[id].Equal(started) {
		delete(e.refreshing, id)
	}
	e.mu.Unlock()
}

// RefreshContainersAsync asks the refresh loop to re-read everything soon (after a bulk change like prune).
func (e *Engine) RefreshContainersAsync() { e.nudge() }

// markRemoved remembers a removal so a full refresh that listed before it does not bring the container back.
// Callers hold e.mu.
func (e *Engine) markRemoved(id string) {
	if e.removed == nil {
		e.removed = map[string]time.Time{}
	}
	e.removed[id] = time.Now()
}
