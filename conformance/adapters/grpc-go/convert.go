package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	v3orcapb "github.com/cncf/xds/go/xds/data/orca/v3"
	"google.golang.org/grpc/attributes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/experimental/balancer/weight"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/status"
)

// JSON forms of protocol v1 (conformance/wire.py, conformance/schema/defs.schema.json)
// to and from grpc-go's types.

func stringField(obj object, key string) (string, error) {
	value, ok := obj[key].(string)
	if !ok {
		return "", fmt.Errorf("input.%s: expected a string, got %v", key, obj[key])
	}
	return value, nil
}

func intField(obj object, key string) (int64, error) {
	number, ok := obj[key].(float64)
	if !ok || number != math.Trunc(number) || math.Abs(number) > 1<<53 {
		return 0, fmt.Errorf("%s: expected an integer, got %v", key, obj[key])
	}
	return int64(number), nil
}

// durationField reads protobuf JSON ("0.25s").
func durationField(obj object, key string) (time.Duration, error) {
	text, ok := obj[key].(string)
	if ok && strings.HasSuffix(text, "s") {
		if d, err := time.ParseDuration(text); err == nil && d >= 0 {
			return d, nil
		}
	}
	return 0, fmt.Errorf("input.%s: expected a protobuf JSON duration such as \"1.5s\", got %v", key, obj[key])
}

var stateNames = map[connectivity.State]string{
	connectivity.Idle:             "IDLE",
	connectivity.Connecting:       "CONNECTING",
	connectivity.Ready:            "READY",
	connectivity.TransientFailure: "TRANSIENT_FAILURE",
	connectivity.Shutdown:         "SHUTDOWN",
}

func stateName(s connectivity.State) string {
	if name, ok := stateNames[s]; ok {
		return name
	}
	return fmt.Sprintf("STATE_%d", int(s))
}

func stateField(obj object, key string) (connectivity.State, error) {
	name, _ := obj[key].(string)
	for state, n := range stateNames {
		if n == name {
			return state, nil
		}
	}
	return 0, fmt.Errorf("input.%s: unknown connectivity state %v", key, obj[key])
}

// Status code names as the spec writes them (grpc/grpc doc/statuscodes.md).
var codeNames = []string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
	"OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
}

func codeName(c codes.Code) string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "UNKNOWN"
}

func statusValue(raw any, where string) (*status.Status, error) {
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("input.%s: expected a status object, got %v", where, raw)
	}
	message, _ := obj["message"].(string)
	switch code := obj["code"].(type) {
	case string:
		for i, name := range codeNames {
			if name == code {
				return status.New(codes.Code(i), message), nil
			}
		}
	case float64:
		if code >= 0 && int(code) < len(codeNames) && code == math.Trunc(code) {
			return status.New(codes.Code(code), message), nil
		}
	}
	return nil, fmt.Errorf("input.%s.code: unknown status code %v", where, obj["code"])
}

func statusJSON(st *status.Status) object {
	out := object{"code": codeName(st.Code())}
	if st.Message() != "" {
		out["message"] = st.Message()
	}
	return out
}

// attributeValue keeps a JSON scalar (string, number, boolean) as it is.
func attributeValues(raw any, where string) (map[string]any, error) {
	if raw == nil {
		return nil, nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: expected an object of attributes, got %v", where, raw)
	}
	for key, value := range obj {
		switch value.(type) {
		case string, float64, bool:
		default:
			return nil, fmt.Errorf("%s.%s: expected a string, number or boolean, got %v", where, key, value)
		}
	}
	return obj, nil
}

// toAttributes stores JSON attributes in grpc-go's immutable attributes, keyed
// by their names (strings are comparable keys; values compare with ==).
func toAttributes(values map[string]any) *attributes.Attributes {
	var attrs *attributes.Attributes
	for _, key := range sortedKeys(values) {
		attrs = attrs.WithValue(key, values[key])
	}
	return attrs
}

func sortedKeys(values map[string]any) []string {
	keys := make([]string, 0, len(values))
	for key := range values {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}

func metadataValue(raw any, where string) (metadata.MD, error) {
	values, err := attributeValues(raw, "input."+where)
	if err != nil {
		return nil, err
	}
	md := metadata.MD{}
	for _, key := range sortedKeys(values) {
		md.Append(key, fmt.Sprint(values[key]))
	}
	return md, nil
}

func metadataJSON(md metadata.MD) object {
	out := object{}
	for key, values := range md {
		out[key] = strings.Join(values, ",")
	}
	return out
}

var orcaFields = map[string]func(*v3orcapb.OrcaLoadReport, float64){
	"cpu_utilization":         func(r *v3orcapb.OrcaLoadReport, v float64) { r.CpuUtilization = v },
	"application_utilization": func(r *v3orcapb.OrcaLoadReport, v float64) { r.ApplicationUtilization = v },
	"mem_utilization":         func(r *v3orcapb.OrcaLoadReport, v float64) { r.MemUtilization = v },
	"rps_fractional":          func(r *v3orcapb.OrcaLoadReport, v float64) { r.RpsFractional = v },
	"eps":                     func(r *v3orcapb.OrcaLoadReport, v float64) { r.Eps = v },
}

// orcaReport builds the cncf/xds OrcaLoadReport that grpc-go's policies read.
func orcaReport(raw any, where string) (*v3orcapb.OrcaLoadReport, error) {
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("input.%s: expected an ORCA load report object, got %v", where, raw)
	}
	report := &v3orcapb.OrcaLoadReport{}
	for key, value := range obj {
		set, known := orcaFields[key]
		number, isNumber := value.(float64)
		if !known || !isNumber {
			return nil, fmt.Errorf("input.%s.%s: not a numeric ORCA field", where, key)
		}
		set(report, number)
	}
	return report, nil
}

// --- addresses and endpoints ---

// addressKey identifies an address as grpc-go's AddressMap does (Addr,
// ServerName, Attributes), plus its balancer attributes, to write it back.
type addressKey struct {
	addr       string
	serverName string
	attrs      *attributes.Attributes
	balAttrs   *attributes.Attributes
}

func (c *channel) addressLocked(raw any, where string) (resolver.Address, error) {
	if text, ok := raw.(string); ok {
		c.addressJSON[addressKey{addr: text}] = text
		return resolver.Address{Addr: text}, nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return resolver.Address{}, fmt.Errorf("%s: expected an address, got %v", where, raw)
	}
	addr, ok := obj["addr"].(string)
	if !ok {
		return resolver.Address{}, fmt.Errorf("%s.addr: expected a string", where)
	}
	serverName, _ := obj["server_name"].(string)
	attrs, err := attributeValues(obj["attributes"], where+".attributes")
	if err != nil {
		return resolver.Address{}, err
	}
	balAttrs, err := attributeValues(obj["balancer_attributes"], where+".balancer_attributes")
	if err != nil {
		return resolver.Address{}, err
	}
	address := resolver.Address{
		Addr:               addr,
		ServerName:         serverName,
		Attributes:         toAttributes(attrs),
		BalancerAttributes: toAttributes(balAttrs),
	}
	key := addressKey{addr, serverName, address.Attributes, address.BalancerAttributes}
	c.addressJSON[key] = raw
	return address, nil
}

// addressToJSONLocked writes an address the policy passed to NewSubConn in the
// form the resolver update gave it.
func (c *channel) addressToJSONLocked(a resolver.Address) any {
	if raw, ok := c.addressJSON[addressKey{a.Addr, a.ServerName, a.Attributes, a.BalancerAttributes}]; ok {
		return raw
	}
	if a.ServerName == "" && a.Attributes == nil && a.BalancerAttributes == nil {
		return a.Addr
	}
	out := object{"addr": a.Addr}
	if a.ServerName != "" {
		out["server_name"] = a.ServerName
	}
	return out
}

// resolverState builds what a resolver hands the channel: Endpoints (and the
// flattened Addresses, which grpc-go still carries for older policies).
func (c *channel) resolverState(input object) (resolver.State, error) {
	raw, ok := input["endpoints"].([]any)
	if !ok {
		return resolver.State{}, fmt.Errorf("input.endpoints: expected a list, got %v", input["endpoints"])
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	state := resolver.State{}
	for i, rawEndpoint := range raw {
		where := fmt.Sprintf("input.endpoints[%d]", i)
		var rawAddrs []any
		var endpointWeight float64
		var endpointAttrs map[string]any
		switch e := rawEndpoint.(type) {
		case []any:
			rawAddrs = e
		case map[string]any:
			if rawAddrs, ok = e["addresses"].([]any); !ok {
				return resolver.State{}, fmt.Errorf("%s.addresses: expected a list", where)
			}
			if w, present := e["weight"]; present && w != nil {
				if endpointWeight, ok = w.(float64); !ok || endpointWeight < 1 ||
					endpointWeight != math.Trunc(endpointWeight) || endpointWeight > math.MaxUint32 {
					return resolver.State{}, fmt.Errorf("%s.weight: expected a positive integer", where)
				}
			}
			var err error
			if endpointAttrs, err = attributeValues(e["attributes"], where+".attributes"); err != nil {
				return resolver.State{}, err
			}
		default:
			return resolver.State{}, fmt.Errorf("%s: expected a list of addresses or an object", where)
		}
		endpoint := resolver.Endpoint{Attributes: toAttributes(endpointAttrs)}
		for j, rawAddr := range rawAddrs {
			address, err := c.addressLocked(rawAddr, fmt.Sprintf("%s[%d]", where, j))
			if err != nil {
				return resolver.State{}, err
			}
			endpoint.Addresses = append(endpoint.Addresses, address)
		}
		if endpointWeight > 0 {
			endpoint = weight.Set(endpoint, weight.EndpointInfo{Weight: uint32(endpointWeight)})
		}
		state.Endpoints = append(state.Endpoints, endpoint)
		state.Addresses = append(state.Addresses, endpoint.Addresses...)
	}
	return state, nil
}
