package nats

import (
	"errors"
	"testing"
	"time"
)

func BenchmarkReceiptDecode(b *testing.B) {
	r := receipt{uid: 1 << 60, root: "123456", seq: 123456, receives: 1, firstRecv: time.Now().UnixNano(), deadline: time.Now().UnixNano(),
		subject: "$JS.ACK.courier_q_bench.courier.1.123456.123456.1764900000000000000.19999", stream: "courier_q_bench"}
	s := r.encode()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeReceipt(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReceiptEncode(b *testing.B) {
	r := receipt{uid: 1 << 60, root: "123456", seq: 123456, receives: 1, firstRecv: time.Now().UnixNano(), deadline: time.Now().UnixNano(),
		subject: "$JS.ACK.courier_q_bench.courier.1.123456.123456.1764900000000000000.19999", stream: "courier_q_bench"}
	b.ReportAllocs()
	for b.Loop() {
		_ = r.encode()
	}
}

func BenchmarkDeliveryTable(b *testing.B) {
	var t deliveryTable
	t.init()
	rs := make([]receipt, 100)
	errs := make([]error, 100)
	seqs := make([]uint64, 100)
	b.ReportAllocs()
	seq := uint64(0)
	for b.Loop() {
		keys := make([]deliveryKey, len(rs))
		for i := range rs {
			seq++
			keys[i] = deliveryKey{"s", seq}
			rs[i] = receipt{seq: seq, deadline: time.Now().Add(time.Minute).UnixNano()}
			seqs[i] = seq
		}
		t.putAll(keys, 1)
		t.freshAll("s", rs, errs, time.Now())
		t.remove("s", seqs)
	}
	_ = errors.New
}
