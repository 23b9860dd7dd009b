package proxy

import (
	"net/url"
	"testing"
)

func TestPruneQueryForOldEngines(t *testing.T) {
	all := url.Values{"filters": {`{"all":{"true":true},"label":{"k=v":true}}`}}
	for _, tc := range []struct {
		version string
		in      url.Values
		want    string
		err     bool
	}{
		{"1.47", all, all.Encode(), false},
		{"1.41", all, url.Values{"filters": {`{"label":{"k=v":true}}`}}.Encode(), false},
		{"1.41", url.Values{"filters": {`{"all":["true"]}`}}, "", false},
		{"1.41", url.Values{}, "", true},
		{"1.41", url.Values{"filters": {`{"label":{"k=v":true}}`}}, "", true},
	} {
		got, err := pruneQueryFor(tc.version, tc.in)
		if (err != nil) != tc.err {
			t.Fatalf("%s %v: err %v", tc.version, tc.in, err)
		}
		if err == nil && got.Encode() != tc.want {
			t.Errorf("%s %v: %q, want %q", tc.version, tc.in, got.Encode(), tc.want)
		}
	}
}
