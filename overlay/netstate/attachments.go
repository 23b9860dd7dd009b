package netstate

import (
	"context"
	"strings"

	"github.com/hashicorp/consul/api"
)

// An attachment says which cluster network an engine's local copy of it stands for: the engine's network ID
// under its host. The join's driver writes it when the engine creates the copy and reads its host's back when
// it restarts, so engine calls naming the engine's ID find their network again.

func (s *Store) attachDir(host string) string { return s.prefix + "attach/" + host + "/" }

// PutAttachment records that engine network engineID on host is cluster network id.
func (s *Store) PutAttachment(ctx context.Context, host, engineID, id string) error {
	if _, err := s.kv.Put(&api.KVPair{Key: s.attachDir(host) + engineID, Value: []byte(id)}, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return unavailable("recording engine network "+engineID, err)
	}
	return nil
}

// DeleteAttachment forgets engine network engineID on host.
func (s *Store) DeleteAttachment(ctx context.Context, host, engineID string) error {
	if _, err := s.kv.Delete(s.attachDir(host)+engineID, (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return unavailable("forgetting engine network "+engineID, err)
	}
	return nil
}

// Attachments returns host's engine network IDs and the cluster network each stands for.
func (s *Store) Attachments(ctx context.Context, host string) (map[string]string, error) {
	pairs, _, err := s.kv.List(s.attachDir(host), (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, unavailable("reading the engine networks of "+host, err)
	}
	out := make(map[string]string, len(pairs))
	for _, kv := range pairs {
		out[strings.TrimPrefix(kv.Key, s.attachDir(host))] = string(kv.Value)
	}
	return out, nil
}
