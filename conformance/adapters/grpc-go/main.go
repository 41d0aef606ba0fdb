// Command grpc-go-adapter attaches grpc-go's real load-balancing policies to the
// grpc-lb-reference conformance suite, speaking adapter protocol v1 (JSON lines
// on stdin/stdout; conformance/PROTOCOL.md and conformance/adapters/refimpl.py).
//
// It builds pick_first, round_robin, weighted_round_robin and
// least_request_experimental through grpc-go's balancer registry and plays the
// channel's part itself: a fake ClientConn and fake SubConns (channel.go) whose
// states come from the case's inputs, a serializer like grpc-go's
// ccBalancerWrapper, and a fake ORCA stream for out-of-band load reports
// (orca.go).  grpc-go's timers and random sources are internal, so the adapter
// runs in real time and cannot be seeded; see README.md beside this file.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
)

// protocolVersion is the adapter protocol this program speaks.
const protocolVersion = 1

// maxLine bounds one protocol message; case inputs are small.
const maxLine = 16 << 20

type options struct {
	settle      time.Duration // quiet window after a step that made the policy act
	shortSettle time.Duration // quiet window after a pick or done that caused nothing else
	maxWait     time.Duration // give up waiting for quiescence after this long
}

func main() {
	var opts options
	flag.DurationVar(&opts.settle, "settle", envDuration("GRPC_GO_ADAPTER_SETTLE", 10*time.Millisecond),
		"a step is over when the policy has been quiet this long (env GRPC_GO_ADAPTER_SETTLE)")
	flag.DurationVar(&opts.shortSettle, "short-settle", 2*time.Millisecond,
		"the quiet window after a pick or done whose only output was the pick outcome")
	flag.DurationVar(&opts.maxWait, "max-wait", 2*time.Second,
		"the longest a step waits for quiescence before it reports what it has")
	flag.Parse()
	if err := serve(os.Stdin, os.Stdout, opts); err != nil {
		fmt.Fprintf(os.Stderr, "grpc-go adapter: %v\n", err)
		os.Exit(1)
	}
}

func envDuration(name string, fallback time.Duration) time.Duration {
	if text := os.Getenv(name); text != "" {
		if d, err := time.ParseDuration(text); err == nil {
			return d
		}
		fmt.Fprintf(os.Stderr, "grpc-go adapter: ignoring %s=%q (not a Go duration)\n", name, text)
	}
	return fallback
}

// serve answers runner messages until "stop" or the end of input.
func serve(in io.Reader, out io.Writer, opts options) error {
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 64<<10), maxLine)
	writer := bufio.NewWriter(out)
	a := &adapter{opts: opts}
	defer a.endCase()
	for scanner.Scan() {
		line := scanner.Bytes()
		if len(trimSpace(line)) == 0 {
			continue
		}
		reply, stop := a.handleLine(line)
		if stop {
			return nil
		}
		data, err := json.Marshal(reply)
		if err != nil {
			data, _ = json.Marshal(errorReply(fmt.Sprintf("cannot encode the reply: %v", err), nil))
		}
		if _, err := writer.Write(append(data, '\n')); err != nil {
			return err
		}
		if err := writer.Flush(); err != nil {
			return err
		}
	}
	return scanner.Err()
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	return b
}

type object = map[string]any

func errorReply(message string, seq *int64) object {
	reply := object{"type": "error", "message": message}
	if seq != nil {
		reply["seq"] = *seq
	}
	return reply
}

// adapter holds at most one case's channel at a time.
type adapter struct {
	opts    options
	channel *channel
}

func (a *adapter) handleLine(line []byte) (reply object, stop bool) {
	var msg object
	if err := json.Unmarshal(line, &msg); err != nil {
		return errorReply(fmt.Sprintf("bad request: not a JSON object: %v", err), nil), false
	}
	kind, _ := msg["type"].(string)
	var seq *int64
	defer func() {
		if r := recover(); r != nil {
			// A bug here or in grpc-go: say so on stderr (the runner keeps its tail).
			fmt.Fprintf(os.Stderr, "grpc-go adapter: panic handling %q: %v\n%s", kind, r, debug.Stack())
			reply, stop = errorReply(fmt.Sprintf("the adapter panicked: %v", r), seq), false
		}
	}()
	switch kind {
	case "start":
		return a.started(), false
	case "begin":
		return a.begin(msg), false
	case "step":
		n, err := intField(msg, "seq")
		if err != nil {
			return errorReply("bad request: "+err.Error(), nil), false
		}
		seq = &n
		input, ok := msg["input"].(map[string]any)
		if !ok {
			return errorReply("bad request: input: expected an object", seq), false
		}
		if a.channel == nil {
			return errorReply("step before begin", seq), false
		}
		outputs, err := a.channel.step(input)
		if err != nil {
			return errorReply(err.Error(), seq), false
		}
		return object{"type": "outputs", "seq": n, "outputs": outputs}, false
	case "end":
		// Outputs after the last step's reply are reported and judged, not dropped:
		// wait for quiescence as after a step, then hand over what arrived.
		var late []object
		if a.channel != nil {
			a.channel.waitQuiet(a.opts.settle)
			late = a.channel.takeOutputs()
		}
		a.endCase()
		reply := object{"type": "ended"}
		if len(late) > 0 {
			reply["outputs"] = late
		}
		return reply, false
	case "stop":
		return nil, true
	default:
		return errorReply(fmt.Sprintf("bad request: unknown message type %q", kind), nil), false
	}
}

// The policies this adapter builds.  Whether their leaves watch health is not
// written here: it is observed from each pick_first instance (healthwatch.go).
var policies = map[string]bool{
	"pick_first":                 true,
	"round_robin":                true,
	"weighted_round_robin":       true,
	"least_request_experimental": true,
}

// specOptions: where the sources differ (spec/options.py), which behaviour
// grpc-go v1.85.0 follows, with the line that does it.  Every option of the
// registry has a value here.
var specOptions = map[string]string{
	// pick_first never calls ResolveNow; its subchannel (addrConn) re-resolves
	// before it reports TRANSIENT_FAILURE (clientconn.go line 1372) and on any
	// connection loss (line 1521), as pickfirst.go notes (line 716, issue 7534).
	"pick_first.reresolution": "grpc_go",
	// pickfirst.go lines 656-667: shutdownRemainingLocked(sd) shuts down all
	// but the lost SubConn, which stays for the next pass.
	"pick_first.lost_subchannel": "kept",
	// pickfirst.go line 569: the 250 ms timer, always armed.
	"pick_first.happy_eyeballs": "enabled",
	// pickfirst.go lines 189-200: ignored while not in TF with a good list.
	"pick_first.resolver_error_with_addresses": "keep_subchannels",
	// pickfirst.go lines 315-331: CONNECTING and a new pass at once.
	"pick_first.selected_address_removed": "reconnects",
	// pickfirst.go lines 413-462: IPv4, IPv6 and unknown.
	"pick_first.family_interleaving": "three_families",
	// pickfirst.go is the leaf policy of gRFC A61 (one SubConn per address).
	"pick_first.variant": "leaf",
	// pickfirst.go line 84: subConns is an AddressMapV2, keyed with the attributes.
	"pick_first.attribute_change": "new_subchannel",
	// pickfirst.go line 520: a pass creates each SubConn when it reaches the
	// address (requestConnectionLocked calls newSCData).
	"pick_first.subchannel_creation": "lazy",
	// endpointsharding.go line 300: each picker starts at a random index.
	"round_robin.start_index": "random_per_picker",
	// endpointsharding.go lines 275-290: IDLE is its own level, below CONNECTING.
	"round_robin.idle_child": "as_idle",
	// leastrequest.go lines 182-201: counts dropped when a picker is next built.
	"least_request_experimental.count_lifetime": "grpc_go",
	// weightedroundrobin/scheduler.go: no clamping.
	"weighted_round_robin.weight_caps": "grpc_go",
	// weightedroundrobin/balancer.go lines 374-380: both timestamps cleared.
	"weighted_round_robin.weight_on_reconnect": "reset_all",
	// weightedroundrobin/balancer.go line 301: each new picker's sequence
	// starts at rand.Uint32().
	"weighted_round_robin.start_index": "random_per_picker",
	// service_config.go lines 185-196: an unregistered name falls back to pick_first.
	"service_config.unknown_policy_name": "case_sensitive_skip",
	// internal/balancer/gracefulswitch/gracefulswitch.go lines 349-352 and
	// 367-368: a pending child is held only while CONNECTING with the current
	// READY; the current leaving READY swaps.  Not exercised here: this adapter
	// builds one named policy, without the channel's graceful switch.
	"service_config.graceful_switch": "grpc_go",
	// endpointsharding.go lines 192-193: every update ends with a report.
	"round_robin.update_report": "every_update",
	// endpointsharding.go lines 202-208: a resolver error goes to every child, then one report.
	"round_robin.resolver_error": "pass_to_children",
	// endpointsharding.go lines 221-227: ExitIdle goes to every child, then one report.
	"round_robin.exit_idle": "forward",
	// endpointsharding.go lines 287-289: in TRANSIENT_FAILURE the failing
	// children's pickers take turns, each failing with its own error.
	"round_robin.failure_error": "rotating_children",
	// endpointsharding.go lines 145-148: the list is rotated, then a repeat of
	// an endpoint already met in this update is skipped ("Skip duplicate endpoints").
	"round_robin.repeated_endpoint": "first_wins",
	// endpointsharding.go lines 150-162: a still-listed endpoint's child is reused.
	"round_robin.children_on_update": "kept",
	// clientconn.go lines 1381-1403: TRANSIENT_FAILURE, then IDLE when the backoff ends.
	"subchannel.backoff_end": "idle",
	// balancer_wrapper.go lines 180-194: NewSubConn makes a new addrConn every call.
	"subchannel.pool": "none",
	// pickfirst.go lines 355-368: ExitIdle reports CONNECTING before the pass.
	"pick_first.connecting_report": "on_connect",
	// leastrequest.go lines 132-136: no config is ErrBadResolverState.
	"least_request_experimental.missing_config": "reject",
	// pickfirst.go lines 707-715: in sticky TRANSIENT_FAILURE, a report every N failures.
	"pick_first.sticky_failure_report": "every_n_failures",
	// pickfirst.go lines 456-458: ip.Is4() || ip.Is4In6() is IPv4.
	"pick_first.ipv4_mapped_family": "ipv4",
	// pickfirst.go lines 311-313: an update still listing the READY address changes nothing.
	"pick_first.ready_on_update": "unchanged",
	// clientconn.go lines 816-826: a resolver error first applies the default
	// config (maybeApplyDefaultServiceConfig), so a later invalid config keeps
	// it (lines 848-864); step.go applyDefaultConfig plays that.
	"service_config.resolver_error_before_config": "default_config",
}

func (a *adapter) started() object {
	names := make([]string, 0, len(policies))
	for _, name := range []string{
		"least_request_experimental", "pick_first", "round_robin", "weighted_round_robin",
	} {
		if _, ok := policies[name]; ok {
			names = append(names, name)
		}
	}
	return object{
		"type":     "started",
		"protocol": protocolVersion,
		"implementation": object{
			"name":     "grpc-go",
			"version":  grpc.Version,
			"language": "go",
			"homepage": "https://github.com/grpc/grpc-go",
		},
		"capabilities": object{
			"policies":        names,
			"time":            "real",
			"seedable_random": false,
			"health_listener": true,
			"orca":            true,
			"profiles":        []string{"current"},
			"spec_options":    specOptions,
		},
	}
}

func (a *adapter) begin(msg object) object {
	a.endCase()
	caseID, _ := msg["case"].(string)
	policy, _ := msg["policy"].(string)
	if _, ok := policies[policy]; !ok {
		return errorReply(fmt.Sprintf("cannot begin case %q: no policy %q here", caseID, policy), nil)
	}
	if profile, _ := msg["profile"].(string); profile != "current" {
		return errorReply(fmt.Sprintf(
			"cannot begin case %q: grpc-go follows the 'current' subchannel profile, not %q",
			caseID, profile), nil)
	}
	healthChecking, _ := msg["health_checking"].(bool)
	clock.reset() // every case starts at time 0 (clock.go)
	ch, err := newChannel(policy, healthChecking, a.opts)
	if err != nil {
		return errorReply(fmt.Sprintf("cannot begin case %q: %v", caseID, err), nil)
	}
	a.channel = ch
	return object{"type": "begun"}
}

func (a *adapter) endCase() {
	if a.channel != nil {
		a.channel.shutdown()
		a.channel = nil
	}
}
