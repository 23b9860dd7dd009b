package dataplane

import (
	"net"
	"reflect"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	id := "0123456789abcdef"
	got := []string{BridgeName(4242), VXLANName(4242), HostVethName(id), CtrVethName(id), VXLANName(maxVNI)}
	want := []string{"swbr4242", "swvx4242", "swh0123456789", "swc0123456789", "swvx16777215"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("names %v, want %v", got, want)
	}
	for _, n := range got {
		if len(n) > 15 {
			t.Errorf("%s longer than IFNAMSIZ-1", n)
		}
	}
}

func TestVNIFromName(t *testing.T) {
	for name, want := range map[string]uint32{"swvx1": 1, "swvx4242": 4242, "swvx16777215": maxVNI} {
		if v, ok := vniFromVXLANName(name); !ok || v != want {
			t.Errorf("%s: %d %v, want %d", name, v, ok, want)
		}
	}
	for _, name := range []string{"swvx", "swvx0", "swvx042", "swvx16777216", "swvx12a", "swbr42", "vx42", "swvx-1"} {
		if v, ok := vniFromVXLANName(name); ok {
			t.Errorf("%s: got VNI %d, want none", name, v)
		}
	}
}

func TestCheckVNIAndEndpointID(t *testing.T) {
	if checkVNI(0) == nil || checkVNI(maxVNI+1) == nil || checkVNI(1) != nil || checkVNI(maxVNI) != nil {
		t.Error("VNI range is 1-16777215")
	}
	for _, id := range []string{"0123456789", "ABCDEFabcdef0123"} {
		if err := checkEndpointID(id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	for _, id := range []string{"", "012345678", "0123456789xyz", "01234/6789"} {
		if checkEndpointID(id) == nil {
			t.Errorf("%q accepted", id)
		}
	}
}

func TestChooseMTU(t *testing.T) {
	v4, v6 := net.ParseIP("192.168.1.1"), net.ParseIP("fd00::1")
	cases := []struct {
		network, underlay int
		vtep              net.IP
		want              int
	}{
		{0, 1500, v4, 1450},
		{0, 9000, v4, 8950},
		{0, 1500, v6, 1430},
		{1400, 1500, v4, 1400},
		{1400, 0, v4, 1400},
	}
	for _, c := range cases {
		if got, err := chooseMTU(c.network, c.underlay, c.vtep); err != nil || got != c.want {
			t.Errorf("chooseMTU(%d, %d, %s) = %d, %v; want %d", c.network, c.underlay, c.vtep, got, err, c.want)
		}
	}
	if _, err := chooseMTU(0, 100, v4); err == nil {
		t.Error("MTU 50 accepted")
	}
}

func TestRandomMAC(t *testing.T) {
	a, err := randomMAC()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := randomMAC()
	if len(a) != 6 || a[0]&1 != 0 || a[0]&2 == 0 || a.String() == b.String() {
		t.Fatalf("%s %s: want distinct locally administered unicast addresses", a, b)
	}
}

func mac(s string) net.HardwareAddr { m, _ := net.ParseMAC(s); return m }

func TestWanted(t *testing.T) {
	local := net.ParseIP("192.168.77.1")
	peers := []Peer{
		{IP: net.ParseIP("10.0.0.2"), MAC: mac("02:00:00:00:00:02"), VTEP: net.ParseIP("192.168.77.2")},
		{IP: net.ParseIP("10.0.0.3"), MAC: mac("02:00:00:00:00:03"), VTEP: net.ParseIP("192.168.77.3")},
		{IP: net.ParseIP("10.0.0.1"), MAC: mac("02:00:00:00:00:01"), VTEP: net.ParseIP("192.168.77.1")}, // local: skipped
		{IP: net.ParseIP("10.0.0.2"), MAC: mac("02:00:00:00:00:02"), VTEP: net.ParseIP("192.168.77.2")}, // repeated
	}
	fdb, neigh, err := wanted(peers, local)
	if err != nil {
		t.Fatal(err)
	}
	wantFDB := map[string]string{"02:00:00:00:00:02": "192.168.77.2", "02:00:00:00:00:03": "192.168.77.3"}
	wantNeigh := map[string]string{"10.0.0.2": "02:00:00:00:00:02", "10.0.0.3": "02:00:00:00:00:03"}
	if !reflect.DeepEqual(fdb, wantFDB) || !reflect.DeepEqual(neigh, wantNeigh) {
		t.Fatalf("fdb %v neigh %v, want %v %v", fdb, neigh, wantFDB, wantNeigh)
	}
}

func TestWantedRefuses(t *testing.T) {
	local := net.ParseIP("192.168.77.1")
	ok := Peer{IP: net.ParseIP("10.0.0.2"), MAC: mac("02:00:00:00:00:02"), VTEP: net.ParseIP("192.168.77.2")}
	bad := map[string][]Peer{
		"required":    {{IP: ok.IP, MAC: ok.MAC}},
		"unicast":     {{IP: ok.IP, MAC: mac("ff:ff:ff:ff:ff:ff"), VTEP: ok.VTEP}},
		"family":      {{IP: ok.IP, MAC: ok.MAC, VTEP: net.ParseIP("fd00::2")}},
		"MAC 02:00":   {ok, {IP: ok.IP, MAC: ok.MAC, VTEP: net.ParseIP("192.168.77.3")}},
		"IP 10.0.0.2": {ok, {IP: ok.IP, MAC: mac("02:00:00:00:00:09"), VTEP: ok.VTEP}},
	}
	for want, peers := range bad {
		if _, _, err := wanted(peers, local); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v, want one saying %q", peers, err, want)
		}
	}
}

func TestPlan(t *testing.T) {
	want := map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"}
	have := map[string][]string{
		"a": {"1"},      // kept
		"b": {"9"},      // replaced
		"c": {"3", "8"}, // extra remote deleted
		"e": {"5", "6"}, // deleted
		"f": {"7", "8"}, // deleted
		"g": nil,        // nothing to do
	}
	have["d"] = []string{"0", "9"} // neither wanted: both deleted, then set
	set, del := plan(want, have)
	wantSet := []pair{{"b", "2"}, {"d", "4"}}
	wantDel := []pair{{"c", "8"}, {"d", "0"}, {"d", "9"}, {"e", "5"}, {"e", "6"}, {"f", "7"}, {"f", "8"}}
	if !reflect.DeepEqual(set, wantSet) || !reflect.DeepEqual(del, wantDel) {
		t.Fatalf("set %v del %v; want %v %v", set, del, wantSet, wantDel)
	}
	if set, del := plan(want, map[string][]string{"a": {"1"}, "b": {"2"}, "c": {"3"}, "d": {"4"}}); set != nil || del != nil {
		t.Fatalf("in sync, yet set %v del %v", set, del)
	}
	if set, del := plan(map[string]string{}, map[string][]string{}); set != nil || del != nil {
		t.Fatalf("empty, yet set %v del %v", set, del)
	}
}
