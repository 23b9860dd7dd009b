package discovery

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

// logTo is a logger writing to buf without timestamps, so lines can be compared exactly.
func logTo(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
}

const knownList = "known options are consul.token, kv.cacertfile, kv.certfile, kv.keyfile, kv.path"

func TestUnknownDiscoveryOptionsAreRefusedByEveryEntryPoint(t *testing.T) {
	entries := map[string]func(url string, opts Options) error{
		"New": func(url string, opts Options) error { _, err := New(url, opts); return err },
		"ConsulClient": func(url string, opts Options) error {
			_, _, err := ConsulClient(url, opts)
			return err
		},
		"NewConsul": func(_ string, opts Options) error {
			client, err := api.NewClient(api.DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewConsul(client, "p", opts)
			return err
		},
	}
	for _, tt := range []struct {
		name, url string
		opts      map[string]string
		want      string // "" for no error
	}{
		{"none", "consul://c:8500/p", nil, ""},
		{"known", "consul://c:8500/p", map[string]string{"kv.path": "a/b", "consul.token": "t"}, ""},
		{"one unknown", "consul://c:8500/p", map[string]string{"kv.foo": "x"}, `unknown discovery option "kv.foo": ` + knownList},
		{"several unknown among known", "consul://c:8500/p", map[string]string{"kv.paht": "x", "kv.path": "y", "consul.tokn": "z"},
			`unknown discovery options "consul.tokn", "kv.paht": ` + knownList},
		{"empty key", "consul://c:8500/p", map[string]string{"": "x"}, `unknown discovery option "": ` + knownList},
	} {
		for entry, call := range entries {
			var logs bytes.Buffer
			err := call(tt.url, Options{Opts: tt.opts, Logger: logTo(&logs)})
			if got := errText(err); got != tt.want {
				t.Errorf("%s: %s: error %q\nwant %q", entry, tt.name, got, tt.want)
			}
			if logs.Len() > 0 {
				t.Errorf("%s: %s: unexpected log %q", entry, tt.name, logs.String())
			}
		}
	}
}

func TestConsulOptionsElsewhereAreIgnoredWithOneWarning(t *testing.T) {
	for _, tt := range []struct {
		name, url string
		opts      map[string]string
		wantErr   string
		wantLog   string
	}{
		{"nodes", "a:1", map[string]string{"kv.path": "x", "consul.token": "t"}, "",
			`level=WARN msg="discovery options only apply to consul:// discovery; ignoring them" scheme=nodes options=consul.token,kv.path` + "\n"},
		{"file", "file:///tmp/engines", map[string]string{"kv.cacertfile": "ca.pem"}, "",
			`level=WARN msg="discovery options only apply to consul:// discovery; ignoring them" scheme=file options=kv.cacertfile` + "\n"},
		{"no options", "file:///tmp/engines", map[string]string{}, "", ""},
		{"unknown is still refused", "nodes://a:1", map[string]string{"kv.foo": "x"}, `unknown discovery option "kv.foo": ` + knownList, ""},
		{"bad URL first", "zk://h/p", map[string]string{"kv.path": "x"},
			`unsupported discovery scheme "zk" in "zk://h/p": use consul://HOST:PORT/PREFIX, file:///PATH or HOST:PORT,HOST:PORT`, ""},
	} {
		var logs bytes.Buffer
		_, err := New(tt.url, Options{Opts: tt.opts, Logger: logTo(&logs)})
		if got := errText(err); got != tt.wantErr {
			t.Errorf("%s: error %q, want %q", tt.name, got, tt.wantErr)
		}
		if logs.String() != tt.wantLog {
			t.Errorf("%s: log %q\nwant %q", tt.name, logs.String(), tt.wantLog)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// The error names keys only: a value (a token) never appears in it.
func TestUnknownOptionErrorDoesNotShowValues(t *testing.T) {
	_, err := New("consul://c:8500", Options{Opts: map[string]string{"consul.tokne": "s3cret"}})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v", err)
	}
}
