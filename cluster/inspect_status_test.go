package cluster

import "testing"

func TestInspectedStatus(t *testing.T) {
	for _, tt := range []struct {
		body, want string
		err        bool
	}{
		{`{"Id":"a","Args":["\",\"State\":{\"Status\":\"x"],"State":{"Status":"running","Running":true}}`, "running", false},
		{`{"Id":"a", "State": {"Status": "exited"}}`, "exited", false}, // not as the engine writes it: decoded
		{`{"Id":"a","State":{"Status":"run\u006eing"}}`, "running", false},
		{`{"Id":"a"}`, "", false},
		{`{"Id":"a","State":{"Status":"running"`, "", true},
		{`not json,"State":{"Status":"running"}`, "", true},
	} {
		got, err := inspectedStatus([]byte(tt.body))
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("%s: %q, %v; want %q, error %v", tt.body, got, err, tt.want, tt.err)
		}
	}
}
