package main

// new_subchannel.health_listener, observed from what pick_first does.
//
// grpc-go's NewSubConnOptions has no health-listener field: a pick_first
// instance decides for itself whether to watch its SubConns' health, from the
// resolver state it is given (pickfirst.go line 222: the attribute that
// pickfirst.EnableHealthListener sets, which round_robin, weighted_round_robin
// and least_request add for their children and a top-level pick_first never
// gets), and registers the listener when a SubConn becomes READY (line 642).
//
// The adapter re-registers the "pick_first" builder with a transparent wrapper
// (every policy, and endpointsharding's children, get pick_first through the
// registry: roundrobin.go line 50, weightedroundrobin/balancer.go line 112,
// leastrequest.go line 93). The wrapper forwards every call unchanged; it only
// reads the same attribute pick_first reads, at the same call, and labels the
// SubConns that instance creates with it. So a policy that stopped enabling
// the health listener for its children, or a pick_first that enabled it at
// top level, shows up in the trace (PF-26, HEALTH-3, HEALTH-4).

import (
	"encoding/json"
	"sync/atomic"

	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/pickfirst"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"
)

type observedPickFirstBuilder struct {
	inner balancer.Builder
}

func (b observedPickFirstBuilder) Name() string { return b.inner.Name() }

func (b observedPickFirstBuilder) Build(cc balancer.ClientConn, opts balancer.BuildOptions) balancer.Balancer {
	pf := &observedPickFirst{}
	pf.cc = observedClientConn{ClientConn: cc, owner: pf}
	pf.Balancer = b.inner.Build(pf.cc, opts)
	return pf
}

func (b observedPickFirstBuilder) ParseConfig(raw json.RawMessage) (serviceconfig.LoadBalancingConfig, error) {
	return b.inner.(balancer.ConfigParser).ParseConfig(raw)
}

// observedPickFirst is one pick_first instance; healthListener is what it was
// last told (the value pick_first itself computes in UpdateClientConnState).
type observedPickFirst struct {
	balancer.Balancer
	cc             observedClientConn
	healthListener atomic.Bool
}

func (p *observedPickFirst) UpdateClientConnState(s balancer.ClientConnState) error {
	p.healthListener.Store(healthListenerEnabled(s.ResolverState))
	return p.Balancer.UpdateClientConnState(s)
}

// healthListenerEnabled: does the state carry pickfirst.EnableHealthListener's
// attribute?  Its key is unexported, so the test is that adding it again
// changes nothing (attributes.Equal compares the key-value sets).
func healthListenerEnabled(s resolver.State) bool {
	return s.Attributes.Equal(pickfirst.EnableHealthListener(resolver.State{Attributes: s.Attributes}).Attributes)
}

type observedClientConn struct {
	balancer.ClientConn
	owner *observedPickFirst
}

// NewSubConn passes the instance's decision to the fake channel in the
// (deprecated, otherwise unused here) HealthCheckEnabled field.
func (c observedClientConn) NewSubConn(addrs []resolver.Address, opts balancer.NewSubConnOptions) (balancer.SubConn, error) {
	opts.HealthCheckEnabled = c.owner.healthListener.Load()
	return c.ClientConn.NewSubConn(addrs, opts)
}

func init() {
	balancer.Register(observedPickFirstBuilder{inner: balancer.Get(pickfirst.Name)})
}
