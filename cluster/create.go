package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/jsonmessage"

	"swarm/internal/metrics"
	"swarm/lease"
	"swarm/scheduler"
)

// CreateRequest is one container create as the API received it.
type CreateRequest struct {
	Name string // requested name, "" for a generated one
	Body []byte // the request body, forwarded with swarm's changes and nothing else lost
	// Parsed, when set, is a request the caller built rather than received (Body is then ignored): it is sent
	// as it is, with swarm's changes, and the create may change it.
	Parsed *container.CreateRequest
	// UniqueName says the caller made Name unique (it holds a random ID): the cluster-wide check is skipped
	// (an engine still refuses a name it holds).
	UniqueName   bool
	Version      string // the client's API version
	Platform     string
	RegistryAuth string // X-Registry-Auth, for pulling the image on the chosen node
	// Swarm mode's placement (see scheduler.Request): the label of the container's peers and the
	// preferences to spread them over; NodeLabel, when set, is a label the chosen node's ID is written into.
	Group     string
	Spread    []string
	NodeLabel string
}

// CreateResponse is the engine's answer plus the node the container landed on.
type CreateResponse struct {
	container.CreateResponse
	Engine *Engine
}

var validName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// creator creates containers through the scheduler. Names are unique cluster-wide: a name is held by a
// container on some engine, or by a create under way (pending); inCreate counts the creates under way by swarm
// ID, whose fixed address is claimed before their container exists. Both under mu.
type creator struct {
	ctx      context.Context // work that outlives a create (orphan sweeps) ends with it
	pool     *pool
	placer   *placer
	hints    *idHints
	leases   LeaseStore // nil without Consul
	retries  int
	metrics  *metrics.Metrics
	log      *slog.Logger
	mu       sync.Mutex
	pending  map[string]bool
	inCreate map[string]int
}

// create schedules and creates a container. The name is unique cluster-wide (409 otherwise),
// swarm's expressions are validated (400), the container gets a swarm ID, and the image is pulled on the
// chosen node when that node lacks it. A failed create leaves no container and no reservation behind.
func (c *creator) create(ctx context.Context, req CreateRequest) (*CreateResponse, error) {
	var cr container.CreateRequest
	if req.Parsed != nil {
		cr, req.Body = *req.Parsed, nil
	} else if err := json.Unmarshal(req.Body, &cr); err != nil {
		return nil, errdefs.InvalidParameter(fmt.Errorf("invalid container create body: %w", err))
	}
	if cr.Config == nil {
		cr.Config = &container.Config{}
	}
	if cr.HostConfig == nil {
		cr.HostConfig = &container.HostConfig{}
	}
	if err := scheduler.ParseRequest(cr.Config); err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	pinned := c.pinToNodes(&cr)
	if req.Name != "" && !validName.MatchString(req.Name) {
		return nil, errdefs.InvalidParameter(fmt.Errorf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", req.Name))
	}
	name := strings.TrimPrefix(req.Name, "/")
	if !req.UniqueName {
		if err := c.reserveName(name); err != nil {
			return nil, err
		}
		defer c.releaseName(name)
	}
	if cr.Config.Labels == nil {
		cr.Config.Labels = map[string]string{}
	}
	if cr.Config.Labels[LabelSwarmID] == "" {
		cr.Config.Labels[LabelSwarmID] = newSwarmID()
	}
	defer c.createUnderWay(cr.Config.Labels[LabelSwarmID])()
	release, err := c.claimAddress(&cr, name)
	if err != nil {
		return nil, err
	}
	var pulling *pullFailed // the image could not be pulled where the container was placed first
	for attempt := 0; attempt <= c.retries; attempt++ {
		var resp *CreateResponse
		if resp, err = c.createOnce(ctx, req, name, &cr, pinned, pulling != nil); err == nil {
			return resp, nil
		}
		if pulling == nil && errors.As(err, &pulling) { // placed again, on a node that holds the image, as the original did
			attempt--
			continue
		}
		var nn *scheduler.NoNodeError
		if errors.As(err, &nn) || errdefs.IsInvalidParameter(err) || errdefs.IsConflict(err) {
			if pulling != nil && nn != nil {
				err = fmt.Errorf("%w\n%s could not be pulled (%v), and no node that holds it can take the container", nn, cr.Config.Image, pulling)
			}
			break
		}
	}
	release()
	return nil, err
}

// pullFailed is a create whose image could not be pulled on the node chosen.
type pullFailed struct{ err error }

func (p *pullFailed) Error() string { return p.err.Error() }
func (p *pullFailed) Unwrap() error { return p.err }

// onImageHolders is cfg for the scheduler only, with an affinity to the nodes that hold its image: where a
// create goes once the image could not be pulled where it was first placed (an image built or loaded on some
// nodes only). The engine gets the container's own config.
func onImageHolders(cfg *container.Config) *container.Config {
	out := *cfg
	out.Labels = maps.Clone(cfg.Labels)
	var affs []string
	if raw := out.Labels[scheduler.LabelAffinities]; raw != "" {
		json.Unmarshal([]byte(raw), &affs)
	}
	b, _ := json.Marshal(append(affs, "image=="+cfg.Image))
	out.Labels[scheduler.LabelAffinities] = string(b)
	return &out
}

// claimAddress takes the fixed address a com.docker.swarm.pipework label asks for (a pool request gets the
// pool's next free address, written back into the label for the node's join to apply). It returns how to give
// the address back if the create fails; a taken address is a 409 that names its holder.
func (c *creator) claimAddress(cr *container.CreateRequest, name string) (release func(), err error) {
	v, ok := cr.Config.Labels[lease.Label]
	if !ok {
		return func() {}, nil
	}
	r, err := lease.ParseLabel(v)
	if err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	if c.leases == nil {
		return nil, errdefs.InvalidParameter(fmt.Errorf("the %s label needs consul:// discovery, where addresses are leased", lease.Label))
	}
	h := lease.Holder{SwarmID: cr.Config.Labels[LabelSwarmID], Name: name}
	ip := r.IP()
	if r.Pool != "" {
		var pool *lease.Pool
		if ip, pool, err = c.leases.ClaimFromPool(r.Pool, h); err == nil {
			r.Addr = pool.Spec(ip)
			cr.Config.Labels[lease.Label] = r.String()
		}
	} else {
		err = c.leases.Claim(ip, h)
	}
	var held *lease.HeldError
	var pool *lease.PoolError
	switch {
	case errors.As(err, &held), errors.As(err, &pool) && pool.Exhausted:
		return nil, errdefs.Conflict(err)
	case errors.As(err, &pool):
		return nil, errdefs.InvalidParameter(err)
	case err != nil:
		return nil, errdefs.Unavailable(err)
	}
	return func() {
		if err := c.leases.Release(ip, h.SwarmID); err != nil {
			c.log.Warn("releasing the address of a failed create", "ip", ip, "err", err)
		}
	}, nil
}

// createOnce places the container and creates it on the chosen engine.
func (c *creator) createOnce(ctx context.Context, req CreateRequest, name string, cr *container.CreateRequest, pinned, onHolders bool) (*CreateResponse, error) {
	start := time.Now()
	cfg := cr.Config
	if onHolders {
		cfg = onImageHolders(cr.Config)
	}
	p, err := c.placer.place(&scheduler.Request{Name: name, Config: cfg, HostConfig: cr.HostConfig,
		Group: req.Group, Spread: req.Spread})
	if err != nil {
		c.metrics.Placement(time.Since(start), "no_suitable_node")
		return nil, err
	}
	c.metrics.Placement(time.Since(start), "")
	defer p.Done()
	e := c.placer.engineFor(p.Node)
	if e == nil {
		return nil, fmt.Errorf("node %s left the cluster during scheduling; try again", p.Node.Name)
	}
	if req.NodeLabel != "" { // a copy: the placement in flight holds the labels it was made with
		labels := maps.Clone(cr.Config.Labels)
		labels[req.NodeLabel] = p.Node.ID
		cr.Config.Labels = labels
	}
	body, err := engineCreateBody(req.Body, cr, int64(p.Node.TotalCPUs), pinned)
	if err != nil {
		return nil, errdefs.InvalidParameter(err)
	}
	swarmID := cr.Config.Labels[LabelSwarmID]
	done := e.store.orphans.creating(swarmID)
	resp, err := createOn(ctx, e, req, name, body)
	if isNoSuchImage(err) {
		if perr := pullImage(ctx, e, cr.Config.Image, req.Platform, req.RegistryAuth); perr != nil {
			done("")
			return nil, &pullFailed{perr}
		}
		resp, err = createOn(ctx, e, req, name, body)
	}
	if err != nil {
		done("")
		if isAmbiguous(err) {
			// The engine may have created it before the connection broke: make sure such a copy goes away.
			e.store.orphans.doom(c.ctx, swarmID)
		}
		return nil, err
	}
	done(resp.ID)
	c.hints.put(resp.ID, e)
	e.store.putCreated(e.lifeCtx(ctx), resp.ID, name, cr, int64(p.Node.TotalCPUs))
	return &CreateResponse{CreateResponse: *resp, Engine: e}, nil
}

// createOn sends the create to e, at the client's API version with the client's body as swarm rewrote it.
func createOn(ctx context.Context, e *Engine, req CreateRequest, name string, body []byte) (*container.CreateResponse, error) {
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	if req.Platform != "" {
		q.Set("platform", req.Platform)
	}
	var out container.CreateResponse
	call := Call{Method: http.MethodPost, Path: "/containers/create", Version: req.Version, Query: q.Encode(), Body: bytes.NewReader(body)}
	if err := e.conn.do(ctx, call, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// isAmbiguous tells a create whose outcome is unknown from one the engine refused: the connection failed, or
// the engine failed on its side (5xx), which it can do after writing the container (one shutting down does).
func isAmbiguous(err error) bool {
	var ee *EngineError
	return err != nil && (!errors.As(err, &ee) || ee.Status >= http.StatusInternalServerError)
}

func isNoSuchImage(err error) bool {
	var ee *EngineError
	return errors.As(err, &ee) && ee.Status == http.StatusNotFound && strings.Contains(strings.ToLower(ee.Msg), "image")
}

// createUnderWay records a create of swarmID until the returned function is called.
func (c *creator) createUnderWay(swarmID string) (done func()) {
	c.mu.Lock()
	if c.inCreate == nil {
		c.inCreate = map[string]int{}
	}
	c.inCreate[swarmID]++
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		if c.inCreate[swarmID]--; c.inCreate[swarmID] <= 0 {
			delete(c.inCreate, swarmID)
		}
		c.mu.Unlock()
	}
}

// creatingSwarmID tells whether a create of swarmID is under way.
func (c *creator) creatingSwarmID(swarmID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inCreate[swarmID] > 0
}

// reserveName claims a name cluster-wide until the create ends.
func (c *creator) reserveName(name string) error {
	if name == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending[name] {
		return errdefs.Conflict(fmt.Errorf("Conflict: The container name \"/%s\" is already in use (a container of that name is being created). You have to remove (or rename) that container to be able to reuse that name.", name))
	}
	for _, e := range c.pool.all() { // each engine's name index, not a list of every container
		if x := e.views.byName(name); x != nil {
			return errdefs.Conflict(fmt.Errorf("Conflict: The container name \"/%s\" is already in use by container %q on node %s. You have to remove (or rename) that container to be able to reuse that name.", name, x.ID, x.Engine.Name()))
		}
	}
	c.pending[name] = true
	return nil
}

func (c *creator) releaseName(name string) {
	if name == "" {
		return
	}
	c.mu.Lock()
	delete(c.pending, name)
	c.mu.Unlock()
}

func newSwarmID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// engineCreateBody rewrites the client's body for the engine, keeping every field it does not know about:
// Env and Labels as parsed (swarm expressions moved into labels), CpuShares from CPUs to the engine's shares.
// Without a body (a request the caller built), cr is all there is.
func engineCreateBody(raw []byte, cr *container.CreateRequest, ncpu int64, pinned bool) ([]byte, error) {
	if raw == nil {
		out := *cr
		if cr.HostConfig.CPUShares > 0 {
			hc := *cr.HostConfig
			hc.CPUShares = cpusToShares(hc.CPUShares, ncpu)
			out.HostConfig = &hc
		}
		return json.Marshal(out)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	set := func(dst map[string]json.RawMessage, k string, v any) {
		b, _ := json.Marshal(v)
		dst[k] = b
	}
	set(m, "Env", cr.Config.Env)
	set(m, "Labels", cr.Config.Labels)
	if cr.HostConfig.CPUShares > 0 || pinned {
		var hc map[string]json.RawMessage
		if err := json.Unmarshal(m["HostConfig"], &hc); err != nil {
			return nil, err
		}
		if hc == nil {
			hc = map[string]json.RawMessage{}
		}
		if cr.HostConfig.CPUShares > 0 {
			set(hc, "CpuShares", cpusToShares(cr.HostConfig.CPUShares, ncpu))
		}
		if pinned { // node/name references rewritten to plain names
			set(hc, "NetworkMode", cr.HostConfig.NetworkMode)
			set(hc, "Binds", cr.HostConfig.Binds)
			set(m, "NetworkingConfig", cr.NetworkingConfig)
		}
		set(m, "HostConfig", hc)
	}
	return json.Marshal(m)
}

// pullImage pulls an image on the engine, draining the progress stream and returning the error it reports
// (asked raw: the engine's own words reach the client).
func pullImage(ctx context.Context, e *Engine, ref, platform, auth string) error {
	img, tag := splitImageRef(ref)
	q := url.Values{"fromImage": {img}, "tag": {tag}}
	if platform != "" {
		q.Set("platform", platform)
	}
	hdr := http.Header{}
	if auth != "" {
		hdr.Set("X-Registry-Auth", auth)
	}
	rc, err := e.Open(ctx, Call{Method: http.MethodPost, Path: "/images/create", Query: q.Encode(), Header: hdr})
	if err != nil {
		return err
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var msg jsonmessage.JSONMessage
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("pulling %s on node %s: %w", ref, e.Name(), err)
		}
		if msg.Error != nil {
			return &EngineError{Node: e.Name(), Status: http.StatusNotFound, Msg: fmt.Sprintf("pulling %s on node %s: %s", ref, e.Name(), msg.Error.Message)}
		}
	}
	e.objects.refresh(ctx, Images)
	return nil
}

// splitImageRef splits "repo[:tag][@digest]" into what /images/create wants; a missing tag is "latest".
func splitImageRef(ref string) (string, string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i], ref[i+1:]
	}
	return ref, "latest"
}
