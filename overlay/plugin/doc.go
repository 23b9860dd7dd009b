// Package plugin serves Docker's remote-driver protocol on a unix socket: the `swarmnet` network driver
// (NetworkDriver) and IPAM driver (IpamDriver) that a plain engine (no swarm mode, no cluster store) finds in
// /run/docker/plugins and calls with `POST /<Interface>.<Method>` and a JSON body.
//
// The contract:
//   - The caller implements NetworkDriver and IPAM (either may be nil, not both) and hands them over in Config.
//     Each call runs in its own goroutine with the request's context, which ends when the engine hangs up or the
//     context given to Serve ends; implementations must be safe for concurrent use.
//   - The server answers by itself: Plugin.Activate; NetworkDriver.GetCapabilities (always Scope "local",
//     ConnectivityScope "global", see DriverScope); IpamDriver.GetCapabilities (Config.IPAMCapabilities);
//     DiscoverNew, DiscoverDelete, ProgramExternalConnectivity, RevokeExternalConnectivity with {}; and
//     AllocateNetwork, FreeNetwork (sent only by a swarm-mode manager) with an error.
//   - An implementation's error reaches the engine verbatim: HTTP 500 with {"Err": err.Error()}, which the engine's
//     plugin client reports as "<Interface>.<Method>: <text>". A malformed request gets 400, an unknown method 404
//     (which the engine reads as "not implemented"); a panic is recovered and answered 500.
//   - New checks the socket path (refusing one another live process serves, replacing a stale one) and listens;
//     Serve serves until its context ends, then removes the socket.
package plugin
