package cooperative

import (
	"slices"
	"testing"
)

// TestTwoPhaseMoves walks a group from one member to three and back: new
// members get unowned partitions at once, owned ones move only when their
// owner settles, at a new generation, and no partition has two owners.
func TestTwoPhaseMoves(t *testing.T) {
	var o Ownership
	o.Resize(6)
	o.Rebalance([]string{"a"})
	if got := o.Owned("a"); !slices.Equal(got, []int{0, 1, 2, 3, 4, 5}) || o.Generation != 1 {
		t.Fatalf("a alone owns %v at generation %d", got, o.Generation)
	}
	o.Rebalance([]string{"a", "b", "c"})
	if len(o.Owned("b")) != 0 || len(o.Owned("c")) != 0 || len(o.Owned("a")) != 6 {
		t.Fatalf("moves happened before a settled: a %v b %v c %v", o.Owned("a"), o.Owned("b"), o.Owned("c"))
	}
	if !o.Owns("a", 5, 1) {
		t.Fatal("a cannot commit a partition it still owns")
	}
	o.Settle("a")
	for _, m := range []string{"a", "b", "c"} {
		if n := len(o.Owned(m)); n != 2 {
			t.Fatalf("%s owns %d partitions after a settled; want 2", m, n)
		}
	}
	gen := o.Generation
	moved := o.Owned("b")[0]
	if o.Owns("a", moved, gen) || !o.Owns("b", moved, gen) || o.Owns("b", moved, gen-1) || o.Owns("b", moved, gen+1) {
		t.Fatal("commits are not fenced by owner and generation")
	}
	o.Rebalance([]string{"a"}) // b and c left: their partitions are free at once
	if got := o.Owned("a"); len(got) != 6 || o.Generation != gen+1 {
		t.Fatalf("a owns %v at generation %d after the others left", got, o.Generation)
	}
	o.Resize(4)
	if got := o.Owned("a"); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Fatalf("after shrinking a owns %v", got)
	}
	o.Rebalance(nil)
	if len(o.Owned("a")) != 0 {
		t.Fatal("a member that left still owns partitions")
	}
}
