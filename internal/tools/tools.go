//go:build tools

// Package tools pins the libraries the project builds on so that go.mod keeps
// them while packages are being written. It is never compiled.
package tools

import (
	_ "github.com/docker/docker/api/types"
	_ "github.com/docker/docker/client"
	_ "github.com/docker/go-connections/nat"
	_ "github.com/docker/go-units"
	_ "github.com/gorilla/mux"
	_ "github.com/gorilla/websocket"
	_ "github.com/hashicorp/consul/api"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/vishvananda/netlink"
	_ "github.com/vishvananda/netns"
)
