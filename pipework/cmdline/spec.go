package cmdline

import (
	"crypto/md5"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Exit codes of a pipework command, one per class of failure.
const (
	ExitUsage      = 1
	ExitContainer  = 2
	ExitHostIf     = 3
	ExitApply      = 4
	ExitWait       = 5
	ExitDHCP       = 6
	ExitPermission = 7
)

// ExitError carries the process exit code of a failed pipework command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Fail returns an *ExitError with the given exit code and a message formatted as fmt.Errorf does.
func Fail(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// Spec is one parsed pipework command.
type Spec struct {
	Action      string // attach, wait, route, rule, detach
	HostIf      string // host interface name (resolved from HostMAC when that is given)
	HostMAC     string // mac:HOSTMAC
	ContainerIf string // default eth1
	LocalIf     string // -l
	Family      int    // 4 or 6 (from -a, or the address)
	Container   string
	Addr        *net.IPNet // IP with its prefix length (IP is the container's address)
	Gateway     net.IP
	DHCP        bool
	DHCPOpts    string
	MAC         net.HardwareAddr
	VLAN        int
	DirectPhys  bool
	Mode        string // macvlan (default) or ipvlan for physical host interfaces
	DockerHost  string
	Args        []string // route/rule arguments
	Timeout     time.Duration
}

// Parse reads a pipework command line (without the program name). It accepts the original's fixed order and
// the options anywhere before the container.
func Parse(args []string) (*Spec, error) {
	s := &Spec{ContainerIf: "eth1", Family: 4, Mode: "macvlan", Timeout: 60 * time.Second, Action: "attach"}
	rest, err := s.leadingOptions(args)
	if err != nil {
		return nil, err
	}
	if s.Action == "wait" {
		return s, s.waitOptions(rest)
	}
	if len(rest) == 0 {
		return nil, Fail(ExitUsage, "%s", Usage)
	}
	switch rest[0] {
	case "route", "rule":
		if len(rest) < 3 {
			return nil, Fail(ExitUsage, "pipework %s CONTAINER ARGS...: arguments missing", rest[0])
		}
		s.Action, s.Container, s.Args = rest[0], rest[1], rest[2:]
		return s, nil
	case "tc":
		return nil, Fail(ExitUsage, "pipework tc is not supported: run tc inside the container (nsenter --net=/proc/PID/ns/net tc ...)")
	case "detach":
		s.Action = "detach"
		return s, s.detachArgs(rest[1:])
	}
	return s, s.attachArgs(rest)
}

// Usage is the syntax printed by `pipework --help` and after some usage errors.
const Usage = `Syntax:
pipework <hostinterface> [-i containerinterface] [-l localinterfacename] [-a addressfamily] <guest> <ipaddr>/<subnet>[@default_gateway] [macaddr][@vlan]
pipework <hostinterface> [-i containerinterface] [-l localinterfacename] <guest> dhcp [macaddr][@vlan]
pipework route|rule <guest> <args...>
pipework detach <guest> [-i containerinterface]
pipework --wait [-i containerinterface] [--timeout 60s]
pipework pool add|ls|rm <consul://HOST:PORT/PREFIX> [NAME SUBNET FIRST-LAST[@GATEWAY]]   (cluster address pools)`

// leadingOptions takes --wait, --direct-phys, --mode and --docker-host before the host interface.
func (s *Spec) leadingOptions(args []string) ([]string, error) {
	for len(args) > 0 && strings.HasPrefix(args[0], "--") {
		switch opt := args[0]; {
		case opt == "--wait":
			s.Action = "wait"
			args = args[1:]
		case opt == "--direct-phys":
			s.DirectPhys = true
			args = args[1:]
		case opt == "--mode" || opt == "--docker-host":
			if len(args) < 2 {
				return nil, Fail(ExitUsage, "%s needs a value", opt)
			}
			if opt == "--mode" {
				if args[1] != "macvlan" && args[1] != "ipvlan" {
					return nil, Fail(ExitUsage, "--mode %q: use macvlan or ipvlan", args[1])
				}
				s.Mode = args[1]
			} else {
				s.DockerHost = args[1]
			}
			args = args[2:]
		case opt == "--timeout" && s.Action == "wait":
			return args, nil
		default:
			return nil, Fail(ExitUsage, "unknown option %s\n%s", opt, Usage)
		}
	}
	return args, nil
}

func (s *Spec) waitOptions(args []string) error {
	for len(args) > 0 {
		if len(args) < 2 {
			return Fail(ExitUsage, "%s needs a value", args[0])
		}
		switch args[0] {
		case "-i":
			s.ContainerIf = args[1]
		case "--timeout":
			d, err := time.ParseDuration(args[1])
			if err != nil || d <= 0 {
				return Fail(ExitUsage, "--timeout %q: a positive duration such as 30s is expected", args[1])
			}
			s.Timeout = d
		default:
			return Fail(ExitUsage, "pipework --wait takes only -i and --timeout, not %q", args[0])
		}
		args = args[2:]
	}
	return checkIfName("container interface", s.ContainerIf)
}

func (s *Spec) detachArgs(args []string) error {
	if len(args) == 0 {
		return Fail(ExitUsage, "pipework detach CONTAINER [-i CIF]: container missing")
	}
	s.Container, args = args[0], args[1:]
	if len(args) == 2 && args[0] == "-i" {
		s.ContainerIf, args = args[1], nil
	}
	if len(args) > 0 {
		return Fail(ExitUsage, "pipework detach takes only -i, not %q", strings.Join(args, " "))
	}
	return checkIfName("container interface", s.ContainerIf)
}

// attachArgs parses HOSTIF [-i CIF] [-l LOCALIF] [-a 4|6] CONTAINER ADDR [MAC][@VLAN].
func (s *Spec) attachArgs(args []string) error {
	host := args[0]
	if strings.HasPrefix(host, "mac:") {
		s.HostMAC = strings.TrimPrefix(host, "mac:")
		if _, err := net.ParseMAC(s.HostMAC); err != nil {
			return Fail(ExitUsage, "mac:%s: not a MAC address", s.HostMAC)
		}
	} else {
		s.HostIf = host
		if err := checkIfName("host interface", host); err != nil {
			return err
		}
	}
	args = args[1:]
	for len(args) >= 2 && strings.HasPrefix(args[0], "-") {
		if err := s.option(args[0], args[1]); err != nil {
			return err
		}
		args = args[2:]
	}
	if len(args) < 2 {
		return Fail(ExitUsage, "%s", Usage)
	}
	if len(args) > 3 {
		return Fail(ExitUsage, "too many arguments: %q", strings.Join(args[3:], " "))
	}
	s.Container = args[0]
	if err := s.address(args[1]); err != nil {
		return err
	}
	if len(args) == 3 {
		return s.macVLAN(args[2])
	}
	return nil
}

func (s *Spec) option(opt, val string) error {
	switch opt {
	case "-i":
		s.ContainerIf = val
		return checkIfName("container interface", val)
	case "-l":
		s.LocalIf = val
		return checkIfName("local interface", val)
	case "-a":
		switch val {
		case "4":
			s.Family = 4
		case "6":
			s.Family = 6
		default:
			return Fail(ExitUsage, "-a %s: the address family is 4 or 6", val)
		}
		return nil
	}
	return Fail(ExitUsage, "unknown option %s", opt)
}

// address parses IP/LEN[@GW] or dhcp[:OPTS].
func (s *Spec) address(a string) error {
	if a == "dhcp" || strings.HasPrefix(a, "dhcp:") {
		s.DHCP = true
		s.DHCPOpts = strings.TrimPrefix(strings.TrimPrefix(a, "dhcp"), ":")
		return nil
	}
	for _, c := range []string{"udhcpc", "dhclient", "dhcpcd"} {
		if strings.HasPrefix(a, c) {
			return Fail(ExitUsage, "%s: host DHCP clients are not used (they touch the host's files); use dhcp[:OPTS]", a)
		}
	}
	ipPart, gw, hasGW := strings.Cut(a, "@")
	if !strings.Contains(ipPart, "/") {
		return Fail(ExitUsage, "The IP address should include a netmask.\nMaybe you meant %s/24 ?", ipPart)
	}
	ip, n, err := net.ParseCIDR(ipPart)
	if err != nil {
		return Fail(ExitUsage, "%q is not an IP address with a prefix length (like 192.168.1.10/24)", ipPart)
	}
	s.Addr = &net.IPNet{IP: ip, Mask: n.Mask}
	if ip.To4() == nil {
		s.Family = 6
	} else if s.Family == 6 {
		return Fail(ExitUsage, "-a 6 with the IPv4 address %s", ip)
	}
	if hasGW {
		if s.Gateway = net.ParseIP(gw); s.Gateway == nil || (s.Gateway.To4() == nil) != (ip.To4() == nil) {
			return Fail(ExitUsage, "gateway %q is not an IPv%d address", gw, s.Family)
		}
	}
	return nil
}

// macVLAN parses [MAC][@VLAN]; U:STRING derives a MAC.
func (s *Spec) macVLAN(v string) error {
	mac, vlan, hasVLAN := strings.Cut(v, "@")
	if hasVLAN {
		vlan, _, _ = strings.Cut(vlan, "@")
		id, err := strconv.Atoi(vlan)
		if err != nil || id < 1 || id > 4094 {
			return Fail(ExitUsage, "VLAN %q: a number from 1 to 4094 is expected", vlan)
		}
		s.VLAN = id
	}
	if mac == "" {
		return nil
	}
	if strings.HasPrefix(mac, "U:") {
		s.MAC = derivedMAC(strings.TrimPrefix(mac, "U:"))
		return nil
	}
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return Fail(ExitUsage, "%q is not a MAC address (like 02:42:ac:11:00:02, or U:name)", mac)
	}
	if hw[0]&1 == 1 {
		return Fail(ExitUsage, "MAC %s is a multicast address: the first byte must be even", hw)
	}
	s.MAC = hw
	return nil
}

// derivedMAC is the original's U: MAC: 02 followed by the first five bytes of md5(text + "\n").
func derivedMAC(text string) net.HardwareAddr {
	sum := md5.Sum([]byte(text + "\n"))
	return net.HardwareAddr{0x02, sum[0], sum[1], sum[2], sum[3], sum[4]}
}

func checkIfName(what, name string) error {
	if name == "" || len(name) > 15 || strings.ContainsAny(name, "/ \t:") {
		return Fail(ExitUsage, "%s name %q: 1 to 15 characters, no '/', ':' or spaces", what, name)
	}
	return nil
}
