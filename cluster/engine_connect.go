package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/docker/docker/client"
)

// errNotEngine is returned when the address answers but is not a Docker engine we can schedule on.
var errNotEngine = errors.New("not a Docker engine")

// validate reads the engine's specs (/info, /version) and negotiates the API version. It refuses a swarm
// manager posing as an engine and an engine reporting no CPUs or memory.
func (e *Engine) validate(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	e.client.NegotiateAPIVersion(ctx)
	info, err := e.client.Info(ctx)
	if err != nil {
		return err
	}
	ver, err := e.client.ServerVersion(ctx)
	if err != nil {
		return err
	}
	if strings.HasPrefix(info.ServerVersion, "swarm/") || strings.HasPrefix(ver.Version, "swarm/") {
		return fmt.Errorf("%w: %s is a swarm manager; point discovery at engines, not managers", errNotEngine, e.addr)
	}
	if info.NCPU == 0 || info.MemTotal == 0 {
		return fmt.Errorf("%w: %s reports %d CPUs and %d bytes of memory; make sure it is a Docker Engine, not a Swarm manager",
			errNotEngine, e.addr, info.NCPU, info.MemTotal)
	}
	labels, err := engineLabels(info.Labels)
	if err != nil {
		return fmt.Errorf("engine %s: %w", e.addr, err)
	}
	labels["storagedriver"] = info.Driver
	labels["kernelversion"] = info.KernelVersion
	labels["operatingsystem"] = info.OperatingSystem
	labels["ostype"] = info.OSType
	e.mu.Lock()
	if e.id != info.ID || e.name != info.Name {
		e.set.identities.Add(1)
	}
	e.id, e.name, e.info, e.version, e.labels = info.ID, info.Name, info, ver, labels
	e.updatedAt = time.Now()
	e.changedBesideContainers()
	e.mu.Unlock()
	return nil
}

var builtinLabels = map[string]bool{"storagedriver": true, "kernelversion": true, "operatingsystem": true, "ostype": true}

// engineLabels parses the daemon's --label k=v list. The built-in keys cannot be overridden; "node" is ignored
// because constraints use it for the engine's name.
func engineLabels(raw []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range raw {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid engine label %q: key=value expected", kv)
		}
		if k == "node" || builtinLabels[k] {
			continue
		}
		out[k] = v
	}
	return out, nil
}

// isConnectionError tells a failure to reach the engine (which counts against its health) from an API error
// (which says the engine is alive).
func isConnectionError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) { // the caller gave up (a client went away): not the engine's fault
		return false
	}
	if client.IsErrConnectionFailed(err) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// checkErr records the outcome of a call to the engine. Success clears the failures and heals an unhealthy
// engine. A failed call proves little by itself (a busy engine can hold one container's call past its
// deadline while answering everything else), so it starts a ping, and the ping's outcome is what counts.
func (e *Engine) checkErr(err error) {
	if err == nil {
		e.countProbe(nil)
		return
	}
	if !isConnectionError(err) {
		return
	}
	e.mu.Lock()
	start := !e.verifying
	e.verifying = true
	e.mu.Unlock()
	if start {
		go e.verify()
	}
}

// verify pings the engine once after a failed call and counts the outcome.
func (e *Engine) verify() {
	ctx := e.lifeCtx(context.Background())
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	_, err := e.client.Ping(pctx)
	cancel()
	e.mu.Lock()
	e.verifying = false
	e.mu.Unlock()
	if ctx.Err() == nil {
		e.countProbe(pingOutcome(err))
	}
}

// pingOutcome is a ping's error as it bears on health: an engine that answered at all, even with an error, is up.
func pingOutcome(err error) error {
	if err != nil && !isConnectionError(err) {
		return nil
	}
	return err
}

// countProbe records whether the engine could be reached: enough failures in a row mark it unhealthy.
func (e *Engine) countProbe(err error) {
	e.mu.Lock()
	var ev string
	was := [2]int{int(e.state), e.failures}
	if err == nil {
		e.failures, e.lastErr = 0, ""
		if e.state == StateUnhealthy {
			e.state, ev = StateHealthy, "engine_reconnect"
		}
	} else {
		e.failures++
		e.lastErr = err.Error()
		if e.state == StateHealthy && e.failures >= e.set.failureRetry {
			e.state, ev = StateUnhealthy, "engine_disconnect"
		}
	}
	if was != [2]int{int(e.state), e.failures} { // the health the scheduler weighs moved
		e.changedBesideContainers()
	}
	e.mu.Unlock()
	if ev != "" {
		e.swarmEvent(ev)
		if ev == "engine_reconnect" {
			e.nudge()
		}
	}
}
