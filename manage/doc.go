// Package manage runs `swarm manage`: it watches discovery, keeps the engine pool (package cluster) in
// step with it, and serves the Docker Remote API for the whole cluster (package proxy) on every -H address.
//
// Run(ctx, cfg) returns when ctx ends (after closing listeners and engine connections) or when a listener
// cannot be opened. Configuration arrives validated from the CLI as a Config.
package manage
