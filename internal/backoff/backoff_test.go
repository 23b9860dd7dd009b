package backoff

import (
	"context"
	"testing"
	"time"
)

func TestDelayDoublesUpToItsCapAndResets(t *testing.T) {
	d := Delay{Min: time.Second, Max: 5 * time.Second}
	var got []time.Duration
	for range 5 {
		got = append(got, d.Next())
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays %v, want %v", got, want)
		}
	}
	d.Reset()
	if n := d.Next(); n != time.Second {
		t.Fatalf("after Reset: %v, want 1s", n)
	}
}

func TestJitterStaysInTheUpperHalf(t *testing.T) {
	for range 200 {
		d := Delay{Min: 8 * time.Second, Max: 8 * time.Second, Jitter: true}
		if n := d.Next(); n < 4*time.Second || n > 8*time.Second {
			t.Fatalf("jittered delay %v outside [4s, 8s]", n)
		}
	}
}

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Fatal("Sleep on an ended context reported the whole wait")
	}
	if !Sleep(context.Background(), time.Millisecond) {
		t.Fatal("Sleep of 1 ms on a live context reported an early end")
	}
}
