package plugin

// The request and response bodies of the protocol. Field names are the wire names (Go's default JSON encoding),
// as in github.com/docker/docker/libnetwork/drivers/remote/api and .../ipams/remote/api; those packages are not
// imported because they pull in modules this one does not otherwise need. Responses carry no error field: errors
// are sent as {"Err": "..."} with a non-200 status (see writeError).

// GenericOptionsKey is the key under which the engine nests a network's driver options (`docker network create
// -o k=v`) in CreateNetworkRequest.Options (libnetwork/netlabel.GenericData).
const GenericOptionsKey = "com.docker.network.generic"

// DriverCapabilities answers NetworkDriver.GetCapabilities.
type DriverCapabilities struct {
	Scope             string // data scope: "local" or "global"
	ConnectivityScope string // "local" or "global"; empty means Scope
}

// IPAMData is one address pool of a network, addresses in CIDR form ("10.0.0.1/24").
type IPAMData struct {
	AddressSpace string
	Pool         string            `json:",omitempty"`
	Gateway      string            `json:",omitempty"`
	AuxAddresses map[string]string `json:",omitempty"`
}

// CreateNetworkRequest is the body of NetworkDriver.CreateNetwork.
type CreateNetworkRequest struct {
	NetworkID string
	// Options holds the engine's options for the network (e.g. "com.docker.network.enable_ipv6") and, under
	// GenericOptionsKey, the driver options; see DriverOptions.
	Options  map[string]any
	IPv4Data []IPAMData
	IPv6Data []IPAMData
}

// DeleteNetworkRequest is the body of NetworkDriver.DeleteNetwork.
type DeleteNetworkRequest struct {
	NetworkID string
}

// EndpointInterface is an endpoint's addresses: Address and AddressIPv6 in CIDR form, MacAddress as
// "02:42:0a:00:00:02". In a response, an empty field leaves the engine's value as it is.
type EndpointInterface struct {
	Address     string `json:",omitempty"`
	AddressIPv6 string `json:",omitempty"`
	MacAddress  string `json:",omitempty"`
}

// CreateEndpointRequest is the body of NetworkDriver.CreateEndpoint.
type CreateEndpointRequest struct {
	NetworkID  string
	EndpointID string
	Interface  *EndpointInterface
	Options    map[string]any
}

// CreateEndpointResponse answers CreateEndpoint. Interface, if set, may only fill what the request left empty.
type CreateEndpointResponse struct {
	Interface *EndpointInterface `json:",omitempty"`
}

// DeleteEndpointRequest is the body of NetworkDriver.DeleteEndpoint.
type DeleteEndpointRequest struct {
	NetworkID  string
	EndpointID string
}

// EndpointInfoRequest is the body of NetworkDriver.EndpointOperInfo.
type EndpointInfoRequest struct {
	NetworkID  string
	EndpointID string
}

// EndpointInfoResponse answers EndpointOperInfo: free-form data the engine shows for the endpoint.
type EndpointInfoResponse struct {
	Value map[string]any
}

// JoinRequest is the body of NetworkDriver.Join.
type JoinRequest struct {
	NetworkID  string
	EndpointID string
	SandboxKey string
	Options    map[string]any
}

// InterfaceName names the device the engine moves into the container (SrcName) and the prefix of its name there
// (DstPrefix, e.g. "eth").
type InterfaceName struct {
	SrcName   string
	DstName   string `json:",omitempty"`
	DstPrefix string
}

// StaticRoute is a route the engine adds in the container: Destination in CIDR form, RouteType 0 (next hop) or 1
// (connected), NextHop an IP.
type StaticRoute struct {
	Destination string
	RouteType   int
	NextHop     string `json:",omitempty"`
}

// JoinResponse answers Join.
type JoinResponse struct {
	InterfaceName         *InterfaceName `json:",omitempty"`
	Gateway               string         `json:",omitempty"`
	GatewayIPv6           string         `json:",omitempty"`
	StaticRoutes          []StaticRoute  `json:",omitempty"`
	DisableGatewayService bool           `json:",omitempty"`
}

// LeaveRequest is the body of NetworkDriver.Leave.
type LeaveRequest struct {
	NetworkID  string
	EndpointID string
}

// IPAMCapabilities answers IpamDriver.GetCapabilities.
type IPAMCapabilities struct {
	RequiresMACAddress    bool // the engine passes the endpoint's MAC in RequestAddress's Options
	RequiresRequestReplay bool // the engine replays its pool and address requests when it restarts
}

// AddressSpaces answers IpamDriver.GetDefaultAddressSpaces.
type AddressSpaces struct {
	LocalDefaultAddressSpace  string
	GlobalDefaultAddressSpace string
}

// RequestPoolRequest is the body of IpamDriver.RequestPool.
type RequestPoolRequest struct {
	AddressSpace string
	Pool         string // CIDR asked for (--subnet), or empty
	SubPool      string // --ip-range, or empty
	Options      map[string]string
	V6           bool
}

// RequestPoolResponse answers RequestPool.
type RequestPoolResponse struct {
	PoolID string
	Pool   string            // CIDR
	Data   map[string]string `json:",omitempty"`
}

// ReleasePoolRequest is the body of IpamDriver.ReleasePool.
type ReleasePoolRequest struct {
	PoolID string
}

// RequestAddressRequest is the body of IpamDriver.RequestAddress.
type RequestAddressRequest struct {
	PoolID  string
	Address string // the IP asked for (no prefix length), or empty for any
	Options map[string]string
}

// RequestAddressResponse answers RequestAddress.
type RequestAddressResponse struct {
	Address string            // CIDR, e.g. "10.0.0.5/24"; empty makes the engine fail the request
	Data    map[string]string `json:",omitempty"`
}

// ReleaseAddressRequest is the body of IpamDriver.ReleaseAddress.
type ReleaseAddressRequest struct {
	PoolID  string
	Address string // an IP, no prefix length
}

// DriverOptions returns the driver options of a network (`docker network create -o k=v`) from the Options of a
// CreateNetworkRequest, or nil if there are none.
func DriverOptions(options map[string]any) map[string]string {
	generic, _ := options[GenericOptionsKey].(map[string]any)
	if len(generic) == 0 {
		return nil
	}
	out := make(map[string]string, len(generic))
	for k, v := range generic {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}
