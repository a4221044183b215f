package kinesis

import (
	"crypto/md5"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// jsonSeeds are request bodies of the actions, valid and not.
var jsonSeeds = []string{
	`{"StreamName":"s","ShardCount":2,"Tags":{"a":"b"},"StreamModeDetails":{"StreamMode":"ON_DEMAND"}}`,
	`{"StreamName":"s","PartitionKey":"k","Data":"aGk=","ExplicitHashKey":"12"}`,
	`{"StreamName":"s","Records":[{"PartitionKey":"k","Data":"aGk="},{"PartitionKey":"","Data":null}]}`,
	`{"StreamName":"s","ShardId":"shardId-000000000000","ShardIteratorType":"AT_TIMESTAMP","Timestamp":1.7e9}`,
	`{"ShardIterator":"s/AQ","Limit":10000}`,
	`{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","ConsumerName":"c"}`,
	`{"ConsumerARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1","ShardId":"1","StartingPosition":{"Type":"LATEST"}}`,
	`{"StreamName":"s","ShardFilter":{"Type":"AFTER_SHARD_ID","ShardId":"x"}}`,
	`{"ResourceARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","TagKeys":["a"]}`,
	`{"StreamName":5}`, `[]`, `null`, `{"Limit":-1}`, `{"Timestamp":"x"}`, ``,
}

// FuzzDecodeJSON feeds JSON 1.1 bodies to the decoder and model checks of
// every action: they must never panic, and an accepted input must
// re-encode.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { decodeEveryAction(t, body, false) })
}

// decodeEveryAction decodes body as the input of every action: a refusal
// must say why, and an accepted input must re-encode.
func decodeEveryAction(t *testing.T, body []byte, isCBOR bool) {
	t.Helper()
	for name, a := range actions {
		in, err := a.decode(body, isCBOR)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%s: empty error", name)
			}
			continue
		}
		if _, err := json.Marshal(in); err != nil {
			t.Fatalf("%s: accepted input does not re-encode: %v", name, err)
		}
	}
}

// FuzzDecodeCBOR does the same for CBOR bodies (as the AWS SDK for Java
// sends them).
func FuzzDecodeCBOR(f *testing.F) {
	for _, s := range jsonSeeds {
		var v any
		if err := jsonUnmarshalLoose(s, &v); err == nil {
			if b, err := cbor.Marshal(v); err == nil {
				f.Add(b)
			}
		}
	}
	ts, _ := cbor.Marshal(map[string]any{"StreamName": "s", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": cbor.Tag{Number: 1, Content: int64(1787036486712)}})
	f.Add(ts)
	data, _ := cbor.Marshal(map[string]any{"StreamName": "s", "PartitionKey": "k", "Data": []byte{1, 2, 3}})
	f.Add(data)
	f.Add([]byte{0xbf, 0x61, 0x61, 0xff})
	f.Fuzz(func(t *testing.T, body []byte) { decodeEveryAction(t, body, true) })
}

func TestHashRangesMatchPartitionKeys(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 1024} {
		for i := range 200 {
			key := fmt.Sprint("key-", i)
			sum := md5.Sum([]byte(key))
			h := new(big.Int).SetBytes(sum[:])
			p := shardForPartitionKey(key, n)
			r := hashRange(p, n)
			start, _ := new(big.Int).SetString(r.StartingHashKey, 10)
			end, _ := new(big.Int).SetString(r.EndingHashKey, 10)
			if h.Cmp(start) < 0 || h.Cmp(end) > 0 {
				t.Fatalf("n=%d key %s: shard %d range %v..%v does not hold %v", n, key, p, start, end, h)
			}
			if q, err := shardForHashKey(h.String(), n); err != nil || q != p {
				t.Fatalf("n=%d: explicit hash key gives shard %d; partition key %d", n, q, p)
			}
		}
	}
}

func TestSequenceNumbers(t *testing.T) {
	var seqs []string
	for _, off := range []int64{-1, 0, 1, 9, 10, 99, 1 << 40, 1<<62 - 1} {
		s := sequenceNumber(off)
		if got, ok := parseSequenceNumber(s); !ok || got != off {
			t.Fatalf("offset %d: %s parses to %d %v", off, s, got, ok)
		}
		if checkDigits("seq", &s, 129) != nil {
			t.Fatalf("%s does not match the Kinesis pattern", s)
		}
		seqs = append(seqs, s)
	}
	if !slices.IsSorted(seqs) {
		t.Fatalf("not sorted as strings: %v", seqs)
	}
	for _, bad := range []string{"", "0", "1", "00000000000000000001", "200000000000000000001", "1000000000000000000001"} {
		if _, ok := parseSequenceNumber(bad); ok {
			t.Fatalf("%q parsed", bad)
		}
	}
}

func TestEpochTime(t *testing.T) {
	want := time.UnixMilli(1787036486712).UTC()
	for _, b := range [][]byte{
		mustCBOR(cbor.Tag{Number: 1, Content: int64(1787036486712)}), // the Java SDK
		mustCBOR(int64(1787036486712)),
		mustCBOR(cbor.Tag{Number: 1, Content: 1787036486.712}), // RFC 8949 float seconds
	} {
		var et epochTime
		if err := et.UnmarshalCBOR(b); err != nil || !et.Equal(want) {
			t.Fatalf("% x: %v %v; want %v", b, et.Time, err, want)
		}
	}
	var et epochTime
	if err := et.UnmarshalCBOR(mustCBOR(cbor.Tag{Number: 0, Content: "2026-01-01T00:00:00Z"})); err == nil {
		t.Fatal("tag 0 accepted")
	}
	if err := et.UnmarshalJSON([]byte("1787036486.712")); err != nil || !et.Equal(want) {
		t.Fatalf("JSON: %v %v", et.Time, err)
	}
	if b, _ := at(want).MarshalJSON(); string(b) != "1787036486.712" {
		t.Fatalf("JSON %s", b)
	}
}

func mustCBOR(v any) []byte {
	b, err := cbor.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// jsonUnmarshalLoose decodes a JSON seed into generic values for CBOR.
func jsonUnmarshalLoose(s string, v *any) error { return json.Unmarshal([]byte(s), v) }
