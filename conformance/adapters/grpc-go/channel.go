package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/connectivity"
	estats "google.golang.org/grpc/experimental/stats"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"

	// Register the policies this adapter builds through balancer.Get.
	_ "google.golang.org/grpc/balancer/leastrequest"
	_ "google.golang.org/grpc/balancer/pickfirst"
	_ "google.golang.org/grpc/balancer/roundrobin"
	_ "google.golang.org/grpc/balancer/weightedroundrobin"
)

// channel plays grpc-go's channel for one case: it owns the balancer, the
// fake ClientConn it was built with, the fake SubConns, the current picker and
// the outputs collected since the last step.
//
// Calls into the balancer (resolver updates and errors, ExitIdle, Close,
// SubConn state and health listeners) run on a serializer, one at a time, as
// grpc-go's ccBalancerWrapper runs them (balancer_wrapper.go); picks and Done
// callbacks run on the caller's goroutine, as the channel's RPC goroutines do
// (picker_wrapper.go).
type channel struct {
	opts           options
	policy         string
	builder        balancer.Builder
	healthChecking bool // health comes from health_state inputs, not an automatic READY
	balancer       balancer.Balancer
	serializer     *serializer

	mu           sync.Mutex // guards everything below
	outputs      []object
	lastActivity time.Time
	subConns     map[string]*fakeSubConn // by handle
	created      int
	picker       balancer.Picker
	picks        map[int64]*pickRecord
	closed       bool
	hasGoodCfg   bool
	goodCfg      serviceconfig.LoadBalancingConfig
	addressJSON  map[addressKey]any // how each address of the last update is written
}

type pickRecord struct {
	done     func(balancer.DoneInfo) // nil when the pick did not complete, or has no Done
	complete bool
	finished bool
}

func newChannel(policy string, healthChecking bool, opts options) (*channel, error) {
	builder := balancer.Get(policy)
	if builder == nil {
		return nil, fmt.Errorf("grpc-go has no balancer registered as %q", policy)
	}
	c := &channel{
		opts:           opts,
		policy:         policy,
		builder:        builder,
		healthChecking: healthChecking,
		serializer:     newSerializer(),
		lastActivity:   time.Now(),
		subConns:       map[string]*fakeSubConn{},
		picks:          map[int64]*pickRecord{},
		addressJSON:    map[addressKey]any{},
	}
	c.serializer.onIdle = c.touch
	// Built eagerly, as grpc-go's own balancer tests build policies; the real
	// channel builds its policy (through gracefulswitch) on the first resolver
	// update, which makes no difference to what the policy itself does.
	c.runSync(func() {
		c.balancer = builder.Build(&fakeClientConn{ch: c}, balancer.BuildOptions{})
	})
	return c, nil
}

// --- outputs and quiescence ---

func (c *channel) emit(output object) {
	c.mu.Lock()
	c.outputs = append(c.outputs, output)
	c.lastActivity = time.Now()
	c.mu.Unlock()
}

func (c *channel) touch() {
	c.mu.Lock()
	c.lastActivity = time.Now()
	c.mu.Unlock()
}

func (c *channel) outputCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.outputs)
}

// waitQuiet returns once the serializer has nothing queued or running and no
// output has appeared for settle: grpc-go's policies start goroutines of their
// own (endpointsharding's ExitIdle on an IDLE child, the ORCA producer), whose
// work cannot be awaited directly.  Bounded by opts.maxWait.
func (c *channel) waitQuiet(settle time.Duration) {
	deadline := time.Now().Add(c.opts.maxWait)
	for {
		idle := c.serializer.idle()
		c.mu.Lock()
		quietFor := time.Since(c.lastActivity)
		c.mu.Unlock()
		if idle && quietFor >= settle {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "grpc-go adapter: the policy was still busy after %v; "+
				"reporting the outputs so far\n", c.opts.maxWait)
			return
		}
		wait := settle - quietFor
		if !idle || wait > time.Millisecond || wait <= 0 {
			wait = 200 * time.Microsecond
		}
		time.Sleep(wait)
	}
}

func (c *channel) takeOutputs() []object {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.outputs
	c.outputs = nil
	if out == nil {
		out = []object{}
	}
	return out
}

// runSync runs fn on the serializer and waits for it.
func (c *channel) runSync(fn func()) {
	done := make(chan struct{})
	c.serializer.schedule(func() {
		defer close(done)
		fn()
	})
	<-done
}

// shutdown ends the case: closes the policy (stopping its timers and
// goroutines) unless the case did, and stops the serializer.
func (c *channel) shutdown() {
	c.mu.Lock()
	closed := c.closed
	c.closed = true
	c.mu.Unlock()
	if !closed && c.balancer != nil {
		c.runSync(c.balancer.Close)
	}
	c.mu.Lock()
	subConns := make([]*fakeSubConn, 0, len(c.subConns))
	for _, sc := range c.subConns {
		subConns = append(subConns, sc)
	}
	c.mu.Unlock()
	for _, sc := range subConns {
		sc.closeProducers()
	}
	c.serializer.stop()
}

// --- the fake ClientConn ---

// fakeClientConn is what the policy gets as its balancer.ClientConn.  It embeds
// the interface (left nil) to satisfy its unexported marker method
// (internal.EnforceClientConnEmbedding); every method a policy may call is
// overridden below, so the nil value is never reached.
type fakeClientConn struct {
	balancer.ClientConn
	ch *channel
}

func (f *fakeClientConn) NewSubConn(addrs []resolver.Address, opts balancer.NewSubConnOptions) (balancer.SubConn, error) {
	c := f.ch
	if len(addrs) == 0 {
		// grpc-go balancer_wrapper.go NewSubConn refuses an empty list too.
		return nil, errors.New("grpc: cannot create SubConn with empty address list")
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errors.New("balancer is being closed; no new SubConns allowed")
	}
	c.created++
	sc := &fakeSubConn{
		ch:        c,
		handle:    fmt.Sprintf("go-sc-%d", c.created),
		addrs:     append([]resolver.Address(nil), addrs...),
		listener:  opts.StateListener,
		state:     connectivity.Idle,
		producers: map[balancer.ProducerBuilder]*refCountedProducer{},
	}
	c.subConns[sc.handle] = sc
	written := make([]any, len(addrs))
	for i, a := range addrs {
		written[i] = c.addressToJSONLocked(a)
	}
	c.outputs = append(c.outputs, object{
		"type":            "new_subchannel",
		"subchannel":      sc.handle,
		"addresses":       written,
		"health_listener": opts.HealthCheckEnabled, // set by healthwatch.go
	})
	c.lastActivity = time.Now()
	c.mu.Unlock()
	return sc, nil
}

func (f *fakeClientConn) RemoveSubConn(sc balancer.SubConn) {
	// Deprecated in grpc-go; the channel shuts the SubConn down.
	sc.Shutdown()
}

func (f *fakeClientConn) UpdateAddresses(sc balancer.SubConn, addrs []resolver.Address) {
	sc.UpdateAddresses(addrs)
}

func (f *fakeClientConn) UpdateState(state balancer.State) {
	c := f.ch
	c.mu.Lock()
	c.picker = state.Picker
	c.outputs = append(c.outputs, object{"type": "update_state", "state": stateName(state.ConnectivityState)})
	c.lastActivity = time.Now()
	c.mu.Unlock()
}

func (f *fakeClientConn) ResolveNow(resolver.ResolveNowOptions) {
	f.ch.emit(object{"type": "request_reresolution"})
}

func (f *fakeClientConn) Target() string { return "conformance:///target" }

func (f *fakeClientConn) MetricsRecorder() estats.MetricsRecorder { return noMetrics{} }

// noMetrics drops every metric (weighted_round_robin records some).  It embeds
// the interface for its unexported marker method, like fakeClientConn.
type noMetrics struct{ estats.MetricsRecorder }

func (noMetrics) RecordInt64Count(*estats.Int64CountHandle, int64, ...string)             {}
func (noMetrics) RecordFloat64Count(*estats.Float64CountHandle, float64, ...string)       {}
func (noMetrics) RecordInt64Histo(*estats.Int64HistoHandle, int64, ...string)             {}
func (noMetrics) RecordFloat64Histo(*estats.Float64HistoHandle, float64, ...string)       {}
func (noMetrics) RecordInt64Gauge(*estats.Int64GaugeHandle, int64, ...string)             {}
func (noMetrics) RecordInt64UpDownCount(*estats.Int64UpDownCountHandle, int64, ...string) {}
func (noMetrics) RegisterAsyncReporter(estats.AsyncMetricReporter, ...estats.AsyncMetric) func() {
	return func() {}
}

// --- the fake SubConn ---

// fakeSubConn is one subchannel.  Its connectivity state changes only on
// subchannel_state inputs; it embeds balancer.SubConn (nil) for the unexported
// marker method (internal.EnforceSubConnEmbedding).  It also implements
// grpc.ClientConnInterface, so that producers built on it (the ORCA
// out-of-band producer) can open their stream on it, as on a real SubConn.
type fakeSubConn struct {
	balancer.SubConn
	ch       *channel
	handle   string
	addrs    []resolver.Address
	listener func(balancer.SubConnState)

	// guarded by ch.mu
	state            connectivity.State
	connectRequested bool
	shutDown         bool
	health           *healthRegistration

	producersMu sync.Mutex
	producers   map[balancer.ProducerBuilder]*refCountedProducer
	streams     []*orcaStream // open ORCA streams, guarded by producersMu
}

// healthRegistration is one RegisterHealthListener call; a newer registration
// or any connectivity change replaces it, and a replaced one gets no updates
// (grpc-go balancer_wrapper.go, healthData).
type healthRegistration struct {
	listener func(balancer.SubConnState)
}

func (sc *fakeSubConn) UpdateAddresses([]resolver.Address) {
	fmt.Fprintf(os.Stderr, "grpc-go adapter: %s: UpdateAddresses is deprecated and not modelled\n", sc.handle)
}

// Connect is recorded; it starts an attempt only from IDLE (CONN-11), which
// the case then drives with subchannel_state inputs.
func (sc *fakeSubConn) Connect() {
	c := sc.ch
	c.mu.Lock()
	c.outputs = append(c.outputs, object{"type": "connect", "subchannel": sc.handle})
	c.lastActivity = time.Now()
	if sc.state == connectivity.Idle && !sc.shutDown {
		sc.connectRequested = true
	}
	c.mu.Unlock()
}

// Shutdown is recorded; unless the policy is closing, SHUTDOWN then reaches
// the StateListener through the serializer, as grpc-go's addrConn.tearDown
// and acBalancerWrapper.updateState deliver it (clientconn.go,
// balancer_wrapper.go).  A second Shutdown does nothing.
func (sc *fakeSubConn) Shutdown() {
	c := sc.ch
	c.mu.Lock()
	if sc.shutDown {
		c.mu.Unlock()
		return
	}
	sc.shutDown = true
	sc.state = connectivity.Shutdown
	sc.health = nil
	closing := c.closed
	c.outputs = append(c.outputs, object{"type": "shutdown", "subchannel": sc.handle})
	c.lastActivity = time.Now()
	c.mu.Unlock()
	sc.closeProducers()
	if closing || sc.listener == nil {
		return
	}
	c.serializer.schedule(func() {
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if !closed {
			sc.listener(balancer.SubConnState{ConnectivityState: connectivity.Shutdown})
		}
	})
}

// RegisterHealthListener follows grpc-go's acBalancerWrapper: ignored unless
// the SubConn is READY; replaces any earlier listener; without client-side
// health checking configured the listener gets one READY, delivered through
// the serializer (noOpRegisterHealthListenerFn).  With health checking the
// case's health_state inputs are the health service's answers.
func (sc *fakeSubConn) RegisterHealthListener(listener func(balancer.SubConnState)) {
	c := sc.ch
	c.mu.Lock()
	defer c.mu.Unlock()
	if sc.state != connectivity.Ready {
		sc.health = nil
		return
	}
	if listener == nil {
		sc.health = nil
		return
	}
	reg := &healthRegistration{listener: listener}
	sc.health = reg
	if c.healthChecking {
		return
	}
	c.serializer.schedule(func() {
		c.mu.Lock()
		current := sc.health == reg && !c.closed
		c.mu.Unlock()
		if current {
			listener(balancer.SubConnState{ConnectivityState: connectivity.Ready})
		}
	})
}

type refCountedProducer struct {
	producer balancer.Producer
	refs     int
	close    func()
}

// GetOrBuildProducer keeps one producer per builder, reference-counted; every
// connectivity change closes them all (as acBalancerWrapper does).
func (sc *fakeSubConn) GetOrBuildProducer(pb balancer.ProducerBuilder) (balancer.Producer, func()) {
	sc.producersMu.Lock()
	data := sc.producers[pb]
	if data == nil {
		sc.producersMu.Unlock()
		p, closeFn := pb.Build(sc) // may open a stream on sc: not under producersMu
		sc.producersMu.Lock()
		if existing := sc.producers[pb]; existing != nil {
			defer closeFn()
			data = existing
		} else {
			data = &refCountedProducer{producer: p, close: closeFn}
			sc.producers[pb] = data
		}
	}
	data.refs++
	sc.producersMu.Unlock()
	var once sync.Once
	return data.producer, func() {
		once.Do(func() {
			sc.producersMu.Lock()
			data.refs--
			last := data.refs == 0
			if last {
				delete(sc.producers, pb)
			}
			sc.producersMu.Unlock()
			if last {
				data.close()
			}
		})
	}
}

func (sc *fakeSubConn) closeProducers() {
	sc.producersMu.Lock()
	closing := make([]func(), 0, len(sc.producers))
	for pb, data := range sc.producers {
		data.refs = 0
		closing = append(closing, data.close)
		delete(sc.producers, pb)
	}
	sc.producersMu.Unlock()
	for _, closeFn := range closing {
		closeFn()
	}
}

// --- the serializer ---

// serializer runs callbacks one at a time, in order, on its own goroutine,
// like grpc-go's grpcsync.CallbackSerializer under ccBalancerWrapper.
type serializer struct {
	mu      sync.Mutex
	queue   []func()
	busy    int // queued + running
	wake    chan struct{}
	stopped chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc
	onIdle  func()
}

func newSerializer() *serializer {
	ctx, cancel := context.WithCancel(context.Background())
	s := &serializer{wake: make(chan struct{}, 1), stopped: make(chan struct{}), ctx: ctx, cancel: cancel}
	go s.run()
	return s
}

func (s *serializer) schedule(fn func()) {
	s.mu.Lock()
	s.queue = append(s.queue, fn)
	s.busy++
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *serializer) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy == 0
}

func (s *serializer) run() {
	defer close(s.stopped)
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-s.wake:
				continue
			case <-s.ctx.Done():
				return
			}
		}
		fn := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		fn()
		if s.onIdle != nil {
			s.onIdle()
		}
		s.mu.Lock()
		s.busy--
		s.mu.Unlock()
	}
}

// stop ends the serializer after the callbacks already queued.
func (s *serializer) stop() {
	done := make(chan struct{})
	s.schedule(func() { close(done) })
	<-done
	s.cancel()
	<-s.stopped
}
