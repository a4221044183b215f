package nats

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/courier-io/courier/driver"
)

// join adds a member as JoinGroup does.
func join(g *groupState, name string, now int64) driver.Assignment {
	g.expire(now)
	if g.Members[name] == nil {
		g.Members[name] = &memberState{}
		g.rebalance()
	}
	m := g.Members[name]
	m.Positions = map[int]int64{}
	m.Session, m.LastSeen = time.Minute, now
	g.settle(name)
	return g.assignment(name, nil)
}

// beat renews a member and settles its moves, as every member call does.
func beat(g *groupState, name string, now int64) driver.Assignment {
	g.expire(now)
	g.Members[name].LastSeen = now
	g.settle(name)
	return g.assignment(name, nil)
}

func TestGroupCooperativeRebalance(t *testing.T) {
	g := newGroupState(1, driver.FromEarliest, 6)
	a1 := join(g, "m1", 0)
	if !slices.Equal(a1.Partitions, []int{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("sole member owns %v", a1.Partitions)
	}
	gen1 := a1.Generation
	a2 := join(g, "m2", 1)
	if len(a2.Partitions) != 0 {
		t.Fatalf("m2 got %v before m1 heard of the rebalance", a2.Partitions)
	}
	// m1 has not heard: it still owns everything and may commit it.
	for p := range 6 {
		if !g.canCommit("m1", p, gen1) {
			t.Fatalf("m1 cannot commit partition %d in generation %d before it heard", p, gen1)
		}
	}
	a1 = beat(g, "m1", 2)
	if len(a1.Partitions) != 3 {
		t.Fatalf("after the rebalance m1 owns %v", a1.Partitions)
	}
	a2 = beat(g, "m2", 3)
	if len(a2.Partitions) != 3 || a2.Generation <= gen1 {
		t.Fatalf("m2 assignment %+v", a2)
	}
	for _, p := range a2.Partitions {
		if g.canCommit("m1", p, a1.Generation) {
			t.Fatalf("m1 may still commit partition %d it gave to m2", p)
		}
		if g.canCommit("m2", p, gen1) {
			t.Fatalf("m2 may commit partition %d in generation %d, before it owned it", p, gen1)
		}
	}
	// m2's session ends: its partitions go back to m1.
	g.Members["m2"].Session = time.Nanosecond
	if a := beat(g, "m1", 10); len(a.Partitions) != 6 {
		t.Fatalf("after m2 expired m1 owns %v", a.Partitions)
	}
	// The state survives its JSON form.
	b, _ := json.Marshal(g)
	var back groupState
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	back.normalize(6)
	if !slices.Equal(back.owned("m1"), g.owned("m1")) || back.Generation != g.Generation {
		t.Fatalf("decoded state %+v differs from %+v", back, g)
	}
}

func TestGroupGrowsWithPartitions(t *testing.T) {
	g := newGroupState(1, driver.FromEarliest, 2)
	join(g, "a", 0)
	join(g, "b", 0)
	beat(g, "a", 0)
	beat(g, "b", 0)
	g.normalize(4)
	beat(g, "a", 0)
	beat(g, "b", 0)
	if len(g.owned("a")) != 2 || len(g.owned("b")) != 2 {
		t.Fatalf("after growing to 4 partitions a owns %v and b %v", g.owned("a"), g.owned("b"))
	}
}
