package sns

import (
	"crypto/sha256"
	"fmt"
	"testing"
)

func TestSigCacheKeepsTheLatest(t *testing.T) {
	var c sigCache
	key := func(i int) sigKey {
		var k sigKey
		d := sha256.Sum256(fmt.Append(nil, i))
		copy(k[1:], d[:])
		return k
	}
	for i := range sigCacheSize + 10 {
		c.put(key(i), fmt.Sprint(i))
	}
	if len(c.m) != sigCacheSize || len(c.order) != sigCacheSize {
		t.Fatalf("the cache holds %d (ring %d); its size is %d", len(c.m), len(c.order), sigCacheSize)
	}
	for _, i := range []int{0, 9} {
		if _, ok := c.get(key(i)); ok {
			t.Errorf("entry %d, among the oldest, was kept", i)
		}
	}
	for _, i := range []int{10, sigCacheSize + 9} {
		if v, ok := c.get(key(i)); !ok || v != fmt.Sprint(i) {
			t.Errorf("entry %d = %q, %v", i, v, ok)
		}
	}
	c.put(key(10), "other") // a key already there keeps its value
	if v, _ := c.get(key(10)); v != "10" {
		t.Errorf("entry 10 changed to %q", v)
	}
}
