package kafka

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"
)

// encodeHeaders carries courier headers as Kafka record headers, one per
// name, in name order (so equal maps encode equally).
func encodeHeaders(h map[string]string) []kgo.RecordHeader {
	if len(h) == 0 {
		return nil
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]kgo.RecordHeader, len(keys))
	for i, k := range keys {
		out[i] = kgo.RecordHeader{Key: k, Value: []byte(h[k])}
	}
	return out
}

// decodeHeaders reads Kafka record headers as courier headers. Kafka
// allows a name more than once (the last one wins here) and any bytes as a
// value (they are passed through as a string; courier's own producers
// write UTF-8). A header with an empty name, which courier cannot
// express, is dropped.
func decodeHeaders(hs []kgo.RecordHeader) map[string]string {
	if len(hs) == 0 {
		return nil
	}
	out := make(map[string]string, len(hs))
	for _, h := range hs {
		if h.Key == "" {
			continue
		}
		out[h.Key] = string(h.Value)
	}
	return out
}
