package nats

import (
	"testing"
)

func TestReceiptRoundTrip(t *testing.T) {
	r := receipt{uid: 42, root: "7", seq: 9, receives: 3, firstRecv: 1700000000000000000, deadline: 1700000030000000000,
		subject: "$JS.ACK.P_q_orders.courier.1.9.12.1700000000000000000.0", stream: "P_q_orders"}
	got, err := decodeReceipt(r.encode())
	if err != nil || got != r {
		t.Fatalf("decode(encode(%+v)) = %+v, %v", r, got, err)
	}
	v2 := r
	v2.subject = "$JS.ACK.hub.ACCHASH.P_q_orders.courier.1.9.12.1700000000000000000.0.TOKEN"
	if got, err := decodeReceipt(v2.encode()); err != nil || got != v2 {
		t.Fatalf("v2 ack subject: %+v, %v", got, err)
	}
	enc := r.encode()
	flipped := "0" + enc[1:] // another checksum
	if enc[0] == '0' {
		flipped = "1" + enc[1:]
	}
	for _, bad := range []string{"", "not-a-receipt", enc + "x", enc[:10], flipped, enc[:len(enc)-1] + "1"} {
		if _, err := decodeReceipt(bad); err == nil {
			t.Errorf("decodeReceipt(%q) succeeded", bad)
		}
	}
	if got.seq != 9 {
		t.Errorf("decoded sequence %d; the ack subject says 9", got.seq)
	}
}

// FuzzReceipt checks that decoding never panics and that whatever decodes
// encodes back to a receipt that decodes the same.
func FuzzReceipt(f *testing.F) {
	f.Add(receipt{uid: 1, root: "d1", seq: 1, receives: 1, subject: "$JS.ACK.S.c.1.1.1.1.0", stream: "S"}.encode())
	f.Add("0000000.1.1.1.1.0.0.$JS.ACK.S.c.1.1.1.1.0")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := decodeReceipt(s)
		if err != nil {
			return
		}
		again, err := decodeReceipt(r.encode())
		if err != nil || again != r {
			t.Fatalf("re-encoding %+v gave %+v, %v", r, again, err)
		}
		if a, ok := parseAck(r.subject); !ok || a.seq != r.seq || a.stream != r.stream {
			t.Fatalf("decoded receipt %+v has an ack subject for another copy", r)
		}
	})
}
