package dataplane

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
)

func TestVXLANAddError(t *testing.T) {
	err := vxlanAddError("swvx1", fmt.Errorf("netlink: %w", syscall.EOPNOTSUPP))
	if !errors.Is(err, ErrNoVXLAN) || !errors.Is(err, syscall.EOPNOTSUPP) || !strings.Contains(err.Error(), "no VXLAN support") {
		t.Fatalf("%v: want ErrNoVXLAN wrapping EOPNOTSUPP", err)
	}
	if err := vxlanAddError("swvx1", syscall.EEXIST); errors.Is(err, ErrNoVXLAN) {
		t.Fatalf("%v: EEXIST is not a missing VXLAN", err)
	}
}

func TestVXLANDiffers(t *testing.T) {
	p := &Plane{vtep: net.ParseIP("192.168.77.1"), port: DefaultPort}
	want := p.wantVXLAN(4242, 1450)
	same := *want
	if d := vxlanDiffers(&same, want); d != "" {
		t.Fatalf("identical devices differ: %s", d)
	}
	for name, change := range map[string]func(*netlink.Vxlan){
		"VNI":      func(v *netlink.Vxlan) { v.VxlanId = 7 },
		"local":    func(v *netlink.Vxlan) { v.SrcAddr = net.ParseIP("192.168.77.9") },
		"port":     func(v *netlink.Vxlan) { v.Port = 8472 },
		"learning": func(v *netlink.Vxlan) { v.Learning = true },
		"proxy":    func(v *netlink.Vxlan) { v.Proxy = false },
		"group":    func(v *netlink.Vxlan) { v.Group = net.ParseIP("239.1.1.1") },
		"external": func(v *netlink.Vxlan) { v.FlowBased = true },
	} {
		have := *want
		change(&have)
		if vxlanDiffers(&have, want) == "" {
			t.Errorf("a different %s goes unnoticed", name)
		}
	}
}
