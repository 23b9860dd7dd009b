package gcfloor

import (
	"runtime/debug"
	"testing"
)

func TestPercent(t *testing.T) {
	for _, tt := range []struct {
		live, headroom uint64
		want           int
	}{
		{0, 256 << 20, maxPercent},
		{1 << 20, 256 << 20, maxPercent},   // a nearly empty heap: bounded
		{64 << 20, 256 << 20, 400},         // 64 MiB live may grow by 256 MiB
		{100 << 20, 256 << 20, 250},        // 256 % rounded down
		{200 << 20, 256 << 20, minPercent}, // 128 %: the floor of twice the live heap
		{2 << 30, 256 << 20, minPercent},   // a large heap: twice what is live
	} {
		if got := percent(tt.live, tt.headroom); got != tt.want {
			t.Errorf("percent(%d, %d) = %d, want %d", tt.live, tt.headroom, got, tt.want)
		}
	}
}

func TestAdjustSetsTheCollectorsPercentage(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	if got := adjust(1<<62, 100); got != maxPercent {
		t.Fatalf("adjust returned %d, want %d", got, maxPercent)
	}
	if now := debug.SetGCPercent(100); now != maxPercent {
		t.Fatalf("the collector's percentage is %d, want %d", now, maxPercent)
	}
	if got := adjust(0, maxPercent); got != minPercent {
		t.Fatalf("with no headroom adjust returned %d, want %d", got, minPercent)
	}
}
