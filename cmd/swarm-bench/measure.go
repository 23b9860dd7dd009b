package main

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// stats summarises one measured operation.
type stats struct {
	Name       string  `json:"name"`
	N          int     `json:"n"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	PerSecond  float64 `json:"per_second,omitempty"`
	Bytes      int64   `json:"bytes,omitempty"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
}

// sample runs op n times with the given concurrency and summarises the latencies.
func sample(name string, n, concurrency int, op func(i int) (int64, error)) stats {
	lat := make([]time.Duration, n)
	var mu sync.Mutex
	st := stats{Name: name, N: n}
	next := 0
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				t := time.Now()
				b, err := op(i)
				d := time.Since(t)
				mu.Lock()
				lat[i], st.Bytes = d, b
				if err != nil {
					if st.Errors == 0 {
						st.FirstError = err.Error()
					}
					st.Errors++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	st.P50ms = ms(lat[n*50/100])
	st.P99ms = ms(lat[min(n-1, n*99/100)])
	st.PerSecond = float64(n) / wall.Seconds()
	return st
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}, Timeout: 2 * time.Minute}

// call performs one request and returns the body size.
func call(method, url, body string) (int64, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 300 {
		return n, fmt.Errorf("%s %s: %s", method, url, resp.Status)
	}
	return n, err
}
