package main

// pick_first's Happy Eyeballs timer on the case's clock, not the wall clock.
//
// grpc-go's pick_first arms its 250 ms connection-attempt timer through
// google.golang.org/grpc/balancer/pickfirst/internal.TimeAfterFunc
// (pickfirst.go line 569; internal/internal.go there: "allows mocking the timer
// for testing connection delay related functionality"), a package variable
// grpc-go's own tests replace. internal/ cannot be imported from outside the
// module, so the adapter reaches the variable by its linker name.  The timer keeps its production length; only
// the clock changes: it fires when advance_time moves the case's clock past its
// deadline, never while a slow step runs on a busy machine (issue 14).
//
// pick_first's timer is the only policy timer that goes through this hook;
// weighted_round_robin's weightUpdatePeriod ticker (time.NewTicker) and its
// weights' timestamps (internal.TimeNow) stay on the wall clock, which is why
// advance_time still sleeps.

import (
	"sort"
	"sync"
	"time"
	_ "unsafe" // go:linkname
)

// pickFirstTimeAfterFunc is pick_first's timer hook: it arms f after d and
// returns the function that cancels it.
//
//go:linkname pickFirstTimeAfterFunc google.golang.org/grpc/balancer/pickfirst/internal.TimeAfterFunc
var pickFirstTimeAfterFunc func(d time.Duration, f func()) func()

// caseClock is the virtual clock the timers above run on.
type caseClock struct {
	mu     sync.Mutex
	now    time.Duration
	timers []*caseTimer
	armed  int // timers armed since the adapter started (a check that the hook is live)
}

type caseTimer struct {
	clock    *caseClock
	deadline time.Duration
	f        func()
	done     bool // fired or stopped
}

func (t *caseTimer) stop() {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	t.done = true
}

func (c *caseClock) afterFunc(d time.Duration, f func()) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &caseTimer{clock: c, deadline: c.now + d, f: f}
	c.timers = append(c.timers, t)
	c.armed++
	return t.stop
}

// advance moves the clock by d and runs every timer that falls due, in deadline
// order, each at its own deadline; it returns how many fired.
func (c *caseClock) advance(d time.Duration) int {
	c.mu.Lock()
	target := c.now + d
	c.mu.Unlock()
	fired := 0
	for {
		c.mu.Lock()
		live := c.timers[:0]
		for _, t := range c.timers {
			if !t.done {
				live = append(live, t)
			}
		}
		c.timers = live
		sort.SliceStable(live, func(i, j int) bool { return live[i].deadline < live[j].deadline })
		if len(live) == 0 || live[0].deadline > target {
			c.now = target
			c.mu.Unlock()
			return fired
		}
		next := live[0]
		next.done = true
		c.now = next.deadline
		c.mu.Unlock()
		next.f() // as the timer goroutine would; pick_first takes its own lock
		fired++
	}
}

// reset forgets every timer (a new case starts at time 0).
func (c *caseClock) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.timers {
		t.done = true
	}
	c.timers, c.now = nil, 0
}

var clock = &caseClock{}

func init() {
	if pickFirstTimeAfterFunc == nil {
		panic("grpc-go adapter: pick_first's TimeAfterFunc hook is not linked")
	}
	pickFirstTimeAfterFunc = clock.afterFunc
}
