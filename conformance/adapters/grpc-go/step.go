package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
)

// The subchannel transitions grpc-go's addrConn makes (the spec's 'current'
// profile, spec/connectivity.py; grpc-go clientconn.go): a case input outside
// them is one the real channel could never deliver.
var legalTransitions = map[[2]connectivity.State]bool{
	{connectivity.Idle, connectivity.Connecting}:             true,
	{connectivity.Connecting, connectivity.Ready}:            true,
	{connectivity.Connecting, connectivity.TransientFailure}: true,
	{connectivity.Connecting, connectivity.Idle}:             true,
	{connectivity.Ready, connectivity.Idle}:                  true,
	{connectivity.TransientFailure, connectivity.Idle}:       true,
}

const defaultMethod = "/grpc.testing.TestService/UnaryCall"

// step delivers one input, waits until the policy is quiet and returns every
// output since the previous step (outputs of grpc-go's own timers that fired
// between steps included, first).
func (c *channel) step(input object) ([]object, error) {
	kind, _ := input["type"].(string)
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("input %q after close", kind)
	}
	c.touch()
	before := c.outputCount()
	var err error
	switch kind {
	case "resolver_update":
		err = c.resolverUpdate(input)
	case "resolver_error":
		var message string
		if message, err = stringField(input, "message"); err == nil {
			// A resolver reports a plain error (resolver.ClientConn.ReportError).
			resolverErr := errors.New(message)
			c.applyDefaultConfig()
			c.serializer.schedule(func() { c.balancer.ResolverError(resolverErr) })
		}
	case "subchannel_state":
		err = c.subchannelState(input)
	case "health_state":
		err = c.healthState(input)
	case "exit_idle":
		c.serializer.schedule(c.balancer.ExitIdle)
	case "close":
		c.mu.Lock()
		c.closed = true // as ccBalancerWrapper.close: no SHUTDOWN to the listeners from now on
		c.mu.Unlock()
		c.runSync(c.balancer.Close)
	case "pick":
		err = c.pick(input)
	case "done":
		err = c.done(input)
	case "advance_time":
		var by time.Duration
		if by, err = durationField(input, "by"); err == nil {
			// Real time for weighted_round_robin's ticker and timestamps, which
			// run on the wall clock; then pick_first's timers, on the case's
			// clock (clock.go), fire at their deadlines.
			time.Sleep(by)
			clock.advance(by)
		}
	case "oob_load_report":
		err = c.oobLoadReport(input)
	default:
		err = fmt.Errorf("input: unknown input type %q", kind)
	}
	if err != nil {
		return nil, err
	}
	settle := c.opts.settle
	outcome := map[string]int{"pick": 1, "done": 0}
	if n, ok := outcome[kind]; ok && c.serializer.idle() && c.outputCount()-before <= n {
		// A pick or done that made no other call on the channel started no
		// goroutine of the policy's either: nothing more can follow from it.
		settle = c.opts.shortSettle
	}
	c.waitQuiet(settle)
	return c.takeOutputs(), nil
}

func (c *channel) resolverUpdate(input object) error {
	state, err := c.resolverState(input)
	if err != nil {
		return err
	}
	// grpc-go clientconn.go updateResolverStateAndUnlock: an invalid service
	// config is returned to the resolver as an error.  With no config in force
	// the channel installs a picker failing RPCs with UNAVAILABLE
	// (applyFailingLBLocked) and the policy is not called; with one in force
	// the policy gets the new endpoints with it.  The rejection is the update's
	// return value, so it comes after the policy's outputs, and only once.
	//
	// An update without a config (protocol: the service config gave none for
	// the policy) reaches the policy with a nil BalancerConfig, as from a parent
	// policy that passes none; grpc-go's own channel would have parsed "{}".
	rejection := ""
	c.mu.Lock()
	config := c.goodCfg // the config in force
	c.mu.Unlock()
	if rawCfg, ok := input["config"]; !ok || rawCfg == nil {
		config = nil
	} else if parser, ok := c.builder.(balancer.ConfigParser); ok {
		raw, err := json.Marshal(rawCfg)
		if err != nil {
			return fmt.Errorf("input.config: %v", err)
		}
		parsed, perr := parser.ParseConfig(raw)
		c.mu.Lock()
		hasGood := c.hasGoodCfg
		if perr == nil {
			c.goodCfg, config = parsed, parsed
		}
		c.mu.Unlock()
		if perr != nil {
			rejection = fmt.Sprintf("error parsing service config: error parsing config for policy %q: %v",
				c.policy, perr)
			if !hasGood {
				(&fakeClientConn{ch: c}).UpdateState(balancer.State{
					ConnectivityState: connectivity.TransientFailure,
					// A status error: the channel fails even wait-for-ready RPCs with it.
					Picker: errPicker{status.Error(codes.Unavailable, rejection)},
				})
				c.emit(object{"type": "update_rejected", "reason": rejection})
				return nil
			}
		}
	}
	c.mu.Lock()
	c.hasGoodCfg = true
	c.mu.Unlock()
	var updateErr error
	c.runSync(func() {
		updateErr = c.balancer.UpdateClientConnState(balancer.ClientConnState{
			ResolverState:  state,
			BalancerConfig: config,
		})
	})
	if rejection == "" && updateErr != nil {
		rejection = updateErr.Error()
	}
	if rejection != "" {
		c.emit(object{"type": "update_rejected", "reason": rejection})
	}
	return nil
}

// applyDefaultConfig: a resolver error puts a config in force too, since
// grpc-go applies the default service config before it passes the error on
// (clientconn.go maybeApplyDefaultServiceConfig); a later invalid config then
// keeps that one (nil: the policy's defaults).
func (c *channel) applyDefaultConfig() {
	c.mu.Lock()
	c.hasGoodCfg = true
	c.mu.Unlock()
}

// errPicker fails every pick with one error (the channel's failing picker).
type errPicker struct{ err error }

func (p errPicker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	return balancer.PickResult{}, p.err
}

func (c *channel) liveSubConn(input object, what string) (*fakeSubConn, error) {
	handle, ok := input["subchannel"].(string)
	if !ok {
		return nil, fmt.Errorf("%s: subchannel: expected one of this adapter's handles, got %v",
			what, input["subchannel"])
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sc := c.subConns[handle]
	if sc == nil {
		return nil, fmt.Errorf("%s: no subchannel %q was created", what, handle)
	}
	if sc.shutDown {
		return nil, fmt.Errorf("%s: subchannel %q is shut down (CONN-8)", what, handle)
	}
	return sc, nil
}

func (c *channel) subchannelState(input object) error {
	sc, err := c.liveSubConn(input, "subchannel_state")
	if err != nil {
		return err
	}
	to, err := stateField(input, "state")
	if err != nil {
		return err
	}
	connErr, err := connectionError(input)
	if err != nil {
		return err
	}
	c.mu.Lock()
	from := sc.state
	switch {
	case to == connectivity.Shutdown:
		err = errors.New("subchannel_state: only the policy shuts a subchannel down")
	case !legalTransitions[[2]connectivity.State{from, to}]:
		err = fmt.Errorf("subchannel_state: subchannel %q cannot go %s -> %s "+
			"(grpc-go's subchannels follow the 'current' profile)", sc.handle, stateName(from), stateName(to))
	case from == connectivity.Idle && !sc.connectRequested:
		err = fmt.Errorf("subchannel_state: subchannel %q left IDLE but the policy never called "+
			"Connect() there; grpc-go delivers no state before Connect() (CONN-2)", sc.handle)
	}
	if err != nil {
		c.mu.Unlock()
		return err
	}
	sc.connectRequested = false
	sc.state = to
	sc.health = nil // a connectivity change ends the health watch
	c.mu.Unlock()
	if to == connectivity.TransientFailure && connErr == nil {
		connErr = errors.New("connection failed")
	}
	// As acBalancerWrapper.updateState: on the serializer, close the SubConn's
	// producers, then call the StateListener.
	c.serializer.schedule(func() {
		sc.closeProducers()
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if !closed && sc.listener != nil {
			sc.listener(balancer.SubConnState{ConnectivityState: to, ConnectionError: connErr})
		}
	})
	return nil
}

func (c *channel) healthState(input object) error {
	sc, err := c.liveSubConn(input, "health_state")
	if err != nil {
		return err
	}
	to, err := stateField(input, "state")
	if err != nil {
		return err
	}
	healthErr, err := connectionError(input)
	if err != nil {
		return err
	}
	c.mu.Lock()
	reg, state := sc.health, sc.state
	c.mu.Unlock()
	if reg == nil || state != connectivity.Ready {
		return fmt.Errorf("health_state: subchannel %q has no health listener while %s",
			sc.handle, stateName(state))
	}
	c.serializer.schedule(func() {
		c.mu.Lock()
		current := sc.health == reg && !c.closed
		c.mu.Unlock()
		if current {
			reg.listener(balancer.SubConnState{ConnectivityState: to, ConnectionError: healthErr})
		}
	})
	return nil
}

// connectionError turns the input's status into the plain error a SubConn
// reports (SubConnState.ConnectionError is not a status: a status error
// returned by a picker would make the channel drop the RPC).
func connectionError(input object) (error, error) {
	raw, ok := input["error"]
	if !ok || raw == nil {
		return nil, nil
	}
	st, err := statusValue(raw, "error")
	if err != nil {
		return nil, err
	}
	if st.Message() == "" {
		return errors.New(codeName(st.Code())), nil
	}
	return errors.New(st.Message()), nil
}

func (c *channel) pick(input object) error {
	id, err := intField(input, "pick_id")
	if err != nil {
		return err
	}
	method := defaultMethod
	if m, ok := input["method"]; ok {
		if method, ok = m.(string); !ok {
			return fmt.Errorf("input.method: expected a string, got %v", m)
		}
	}
	c.mu.Lock()
	if _, used := c.picks[id]; used {
		c.mu.Unlock()
		return fmt.Errorf("pick: pick_id %d was used before", id)
	}
	record := &pickRecord{}
	c.picks[id] = record
	picker := c.picker
	c.mu.Unlock()
	if picker == nil { // no picker yet: the channel queues the RPC (picker_wrapper.go)
		c.emit(object{"type": "pick_queue", "pick_id": id})
		return nil
	}
	result, pickErr := picker.Pick(balancer.PickInfo{FullMethodName: method, Ctx: context.Background()})
	c.emit(c.pickOutcome(id, record, result, pickErr))
	return nil
}

// pickOutcome classifies a pick as grpc-go's pickerWrapper.pick does.
func (c *channel) pickOutcome(id int64, record *pickRecord, result balancer.PickResult, err error) object {
	if err != nil {
		if err == balancer.ErrNoSubConnAvailable { // compared as the channel does
			return object{"type": "pick_queue", "pick_id": id}
		}
		if st, ok := status.FromError(err); ok {
			// A status error fails even wait-for-ready RPCs; codes restricted by
			// gRFC A54 become INTERNAL.
			if restrictedCodes[st.Code()] {
				st = status.Newf(codes.Internal, "received picker error with illegal status: %v", err)
			}
			return object{"type": "pick_drop", "pick_id": id, "status": statusJSON(st)}
		}
		// Any other error fails fail-fast RPCs with UNAVAILABLE (wait-for-ready ones wait).
		return object{"type": "pick_fail", "pick_id": id,
			"status": statusJSON(status.New(codes.Unavailable, err.Error()))}
	}
	sc, ok := result.SubConn.(*fakeSubConn)
	if !ok || sc.ch != c {
		return object{"type": "pick_complete", "pick_id": id, "subchannel": fmt.Sprintf("foreign:%T", result.SubConn)}
	}
	c.mu.Lock()
	record.complete = true
	record.done = result.Done
	c.mu.Unlock()
	out := object{"type": "pick_complete", "pick_id": id, "subchannel": sc.handle}
	if len(result.Metadata) > 0 {
		out["metadata"] = metadataJSON(result.Metadata)
	}
	return out
}

var restrictedCodes = map[codes.Code]bool{
	codes.InvalidArgument: true, codes.NotFound: true, codes.AlreadyExists: true,
	codes.FailedPrecondition: true, codes.Aborted: true, codes.OutOfRange: true, codes.DataLoss: true,
}

func (c *channel) done(input object) error {
	id, err := intField(input, "pick_id")
	if err != nil {
		return err
	}
	info := balancer.DoneInfo{}
	if raw, ok := input["error"]; ok && raw != nil {
		st, err := statusValue(raw, "error")
		if err != nil {
			return err
		}
		info.Err = st.Err()
	}
	if raw, ok := input["trailer"]; ok && raw != nil {
		md, err := metadataValue(raw, "trailer")
		if err != nil {
			return err
		}
		info.Trailer = md
	}
	if raw, ok := input["load_report"]; ok && raw != nil {
		report, err := orcaReport(raw, "load_report")
		if err != nil {
			return err
		}
		info.ServerLoad = report // what the channel parses from the trailer (orca/call_metrics.go)
	}
	c.mu.Lock()
	record := c.picks[id]
	if record == nil || !record.complete || record.finished {
		c.mu.Unlock()
		return fmt.Errorf("done: pick %d did not complete, or is done already", id)
	}
	record.finished = true
	done := record.done
	c.mu.Unlock()
	if done != nil {
		done(info)
	}
	return nil
}

func (c *channel) oobLoadReport(input object) error {
	sc, err := c.liveSubConn(input, "oob_load_report")
	if err != nil {
		return err
	}
	c.mu.Lock()
	state := sc.state
	c.mu.Unlock()
	if state != connectivity.Ready {
		return fmt.Errorf("oob_load_report: subchannel %q is %s, not READY", sc.handle, stateName(state))
	}
	report, err := orcaReport(input["report"], "report")
	if err != nil {
		return err
	}
	// No stream: no listener asked for reports, so a backend sends none.
	for _, stream := range sc.openStreams(c.opts.maxWait) {
		if err := stream.deliver(report, c.opts.maxWait); err != nil {
			return fmt.Errorf("oob_load_report: %v", err)
		}
	}
	return nil
}
