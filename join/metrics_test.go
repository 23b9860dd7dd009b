package join

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"swarm/overlay/mesh"
)

func TestMetricsCountEachFrontendsTasks(t *testing.T) {
	fes := []mesh.Frontend{
		{Service: "web", Proto: "tcp", Port: 81, Bridge: "swbr4097", Backends: []mesh.Backend{{IP: net.ParseIP("10.0.0.3"), Port: 80}, {IP: net.ParseIP("10.0.0.4"), Port: 80}}},
		{Service: "web", Addr: net.ParseIP("10.0.1.2"), Bridge: "swbr4098", Backends: []mesh.Backend{{IP: net.ParseIP("10.0.1.3")}}},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := serveMetrics(ctx, addr, func() []mesh.Frontend { return fes }, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`swarm_mesh_backends{bridge="swbr4097",frontend="tcp/81",service="web"} 2`,
		`swarm_mesh_backends{bridge="swbr4098",frontend="10.0.1.2",service="web"} 1`,
		"process_cpu_seconds_total",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := serveMetrics(ctx, addr, nil, slog.Default()); err == nil {
		t.Error("a second server on the same address was started")
	}
}
