package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	v3orcapb "github.com/cncf/xds/go/xds/data/orca/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Out-of-band ORCA load reports reach weighted_round_robin through grpc-go's
// own producer: orca.RegisterOOBListener builds it with
// SubConn.GetOrBuildProducer, and it opens a StreamCoreMetrics stream on the
// SubConn (orca/producer.go).  The fake SubConn serves that stream: each
// oob_load_report input is one message on it.

const orcaStreamMethod = "/xds.service.orca.v3.OpenRcaService/StreamCoreMetrics"

// Invoke: no unary RPC is served on a fake SubConn.
func (sc *fakeSubConn) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return status.Error(codes.Unimplemented, "the conformance adapter serves no unary RPCs")
}

// NewStream serves the ORCA stream on a READY SubConn, as a backend would.
func (sc *fakeSubConn) NewStream(ctx context.Context, _ *grpc.StreamDesc, method string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	if method != orcaStreamMethod {
		return nil, status.Errorf(codes.Unimplemented, "the conformance adapter does not serve %s", method)
	}
	sc.ch.mu.Lock()
	ready := sc.state == connectivity.Ready
	sc.ch.mu.Unlock()
	if !ready {
		// What a real SubConn answers (balancer_wrapper.go, acBalancerWrapper.NewStream).
		return nil, status.Error(codes.Unavailable, "SubConn state is not Ready")
	}
	stream := &orcaStream{ctx: ctx, reports: make(chan orcaMessage)}
	sc.producersMu.Lock()
	sc.streams = append(sc.streams, stream)
	sc.producersMu.Unlock()
	go func() {
		<-ctx.Done()
		sc.producersMu.Lock()
		for i, s := range sc.streams {
			if s == stream {
				sc.streams = append(sc.streams[:i], sc.streams[i+1:]...)
				break
			}
		}
		sc.producersMu.Unlock()
	}()
	return stream, nil
}

// openStreams returns the ORCA streams open on sc, waiting up to wait for one
// when a producer exists but has not opened its stream yet.
func (sc *fakeSubConn) openStreams(wait time.Duration) []*orcaStream {
	deadline := time.Now().Add(wait)
	for {
		sc.producersMu.Lock()
		streams := append([]*orcaStream(nil), sc.streams...)
		producers := len(sc.producers)
		sc.producersMu.Unlock()
		if len(streams) > 0 || producers == 0 || time.Now().After(deadline) {
			return streams
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// orcaStream is one server-streaming StreamCoreMetrics call.
type orcaStream struct {
	ctx     context.Context
	reports chan orcaMessage

	mu      sync.Mutex
	lastAck chan struct{} // closed when the producer asks for the message after it
}

type orcaMessage struct {
	report *v3orcapb.OrcaLoadReport
	ack    chan struct{}
}

func (s *orcaStream) Header() (metadata.MD, error) { return nil, nil }
func (s *orcaStream) Trailer() metadata.MD         { return nil }
func (s *orcaStream) CloseSend() error             { return nil }
func (s *orcaStream) Context() context.Context     { return s.ctx }

// SendMsg takes the request; its report interval is the case's business: each
// oob_load_report input is one report, whenever the case sends it.
func (s *orcaStream) SendMsg(any) error { return nil }

// acknowledge tells deliver that the producer is done with the last message:
// it has called every listener and come back for the next one.
func (s *orcaStream) acknowledge(next chan struct{}) {
	s.mu.Lock()
	if s.lastAck != nil {
		close(s.lastAck)
	}
	s.lastAck = next
	s.mu.Unlock()
}

func (s *orcaStream) RecvMsg(m any) error {
	s.acknowledge(nil)
	select {
	case msg := <-s.reports:
		out, ok := m.(*v3orcapb.OrcaLoadReport)
		if !ok {
			close(msg.ack)
			return status.Errorf(codes.Internal, "ORCA stream asked to fill a %T", m)
		}
		proto.Reset(out)
		proto.Merge(out, msg.report)
		s.acknowledge(msg.ack)
		return nil
	case <-s.ctx.Done():
		return status.FromContextError(s.ctx.Err()).Err()
	}
}

// deliver sends one report and waits until the producer has handed it to its
// listeners (it has, once it asks for the next message or its stream ends).
func (s *orcaStream) deliver(report *v3orcapb.OrcaLoadReport, wait time.Duration) error {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	ack := make(chan struct{})
	select {
	case s.reports <- orcaMessage{report: report, ack: ack}:
	case <-s.ctx.Done():
		return nil // the stream closed (the SubConn changed state): the report is lost
	case <-timer.C:
		return fmt.Errorf("the ORCA producer did not read the report within %v", wait)
	}
	select {
	case <-ack:
	case <-s.ctx.Done():
	case <-timer.C:
		return fmt.Errorf("the ORCA producer did not finish with the report within %v", wait)
	}
	return nil
}
