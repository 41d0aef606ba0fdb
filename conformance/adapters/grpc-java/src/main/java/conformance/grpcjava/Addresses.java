package conformance.grpcjava;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.InternalEquivalentAddressGroup;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Case addresses as grpc-java sees them, and back.
 *
 * <p>A case endpoint becomes one {@link EquivalentAddressGroup}, as grpc-java's resolvers deliver
 * one EAG per endpoint. IP literals become resolved {@link InetSocketAddress}es (pick_first's
 * Happy Eyeballs interleaving tells the families apart by {@code Inet4Address} / {@code
 * Inet6Address}); other hosts stay unresolved. Each socket address remembers the case's spelling,
 * so outputs name addresses exactly as the case did.
 *
 * <p>grpc-java has attributes per EAG, not per address: an endpoint's and its addresses'
 * {@code attributes} all go onto its EAG (a case giving two addresses of one endpoint different
 * attributes cannot be expressed and is refused). grpc-java has no per-address balancer
 * attributes; {@code balancer_attributes} are not delivered.
 */
final class Addresses {
  /** Attribute keys are compared by identity: one key per attribute name for the whole run. */
  private static final Map<String, Attributes.Key<Object>> KEYS = new HashMap<>();

  private final Map<SocketAddress, String> spelling = new HashMap<>();

  List<EquivalentAddressGroup> endpoints(Object raw) throws BadInput {
    List<EquivalentAddressGroup> groups = new ArrayList<>();
    int index = 0;
    for (Object endpoint : Json.list(raw, "input.endpoints")) {
      groups.add(endpoint(endpoint, "input.endpoints[" + index++ + "]"));
    }
    return groups;
  }

  private EquivalentAddressGroup endpoint(Object raw, String path) throws BadInput {
    List<?> rawAddresses;
    Map<String, Object> attributes = new LinkedHashMap<>();
    Long weight = null;
    if (raw instanceof List) {
      rawAddresses = (List<?>) raw;
    } else {
      Map<String, ?> obj = Json.object(raw, path);
      rawAddresses = Json.list(obj.get("addresses"), path + ".addresses");
      attributes.putAll(Json.objectOrEmpty(obj.get("attributes"), path + ".attributes"));
      // An endpoint's weight is the EAG attribute grpc-java's xDS resolver sets; pick_first's
      // weighted shuffle reads it (PickFirstLeafLoadBalancer.java:239-253, gRFC A113).
      // weighted_round_robin takes its weights from ORCA reports instead.
      if (obj.get("weight") != null) {
        weight = Json.integer(obj.get("weight"), path + ".weight");
      }
    }
    List<SocketAddress> addresses = new ArrayList<>();
    Map<String, Object> addressAttributes = null;
    for (int i = 0; i < rawAddresses.size(); i++) {
      String where = path + "[" + i + "]";
      Object address = rawAddresses.get(i);
      Map<String, Object> own = Map.of();
      if (address instanceof Map) {
        Map<String, ?> obj = Json.object(address, where);
        own = Json.objectOrEmpty(obj.get("attributes"), where + ".attributes");
        if (obj.get("server_name") != null) {
          // Refused rather than dropped: a case relying on it would pass or fail for nothing.
          throw new BadInput(
              where + ".server_name: grpc-java has no server name per address (an authority"
                  + " override is an attribute of the whole EquivalentAddressGroup)");
        }
        address = obj.get("addr");
      }
      if (addressAttributes != null && !addressAttributes.equals(own)) {
        throw new BadInput(
            where + ": grpc-java keeps attributes per endpoint (EquivalentAddressGroup), so the"
                + " addresses of one endpoint cannot have different attributes");
      }
      addressAttributes = own;
      addresses.add(socketAddress(Json.string(address, where)));
    }
    if (addressAttributes != null) {
      attributes.putAll(addressAttributes);
    }
    if (addresses.isEmpty()) {
      throw new BadInput(path + ": an endpoint needs an address");
    }
    Attributes eagAttributes = toAttributes(attributes);
    if (weight != null) {
      eagAttributes =
          eagAttributes.toBuilder().set(InternalEquivalentAddressGroup.ATTR_WEIGHT, weight).build();
    }
    return new EquivalentAddressGroup(addresses, eagAttributes);
  }

  private static Attributes toAttributes(Map<String, Object> values) {
    Attributes.Builder builder = Attributes.newBuilder();
    for (Map.Entry<String, Object> entry : values.entrySet()) {
      builder.set(KEYS.computeIfAbsent(entry.getKey(), Attributes.Key::create), entry.getValue());
    }
    return builder.build();
  }

  private SocketAddress socketAddress(String text) throws BadInput {
    int colon = text.lastIndexOf(':');
    if (colon <= 0) {
      throw new BadInput("address " + text + ": expected host:port");
    }
    String host = text.substring(0, colon);
    int port;
    try {
      port = Integer.parseInt(text.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new BadInput("address " + text + ": bad port");
    }
    boolean bracketed = host.startsWith("[") && host.endsWith("]");
    if (bracketed) {
      host = host.substring(1, host.length() - 1);
    }
    SocketAddress address;
    if (bracketed || host.matches("[0-9.]+")) {
      try {
        // An IP literal: no lookup happens.
        address = new InetSocketAddress(InetAddress.getByName(host), port);
      } catch (UnknownHostException e) {
        throw new BadInput("address " + text + ": not an IP literal");
      }
    } else {
      address = InetSocketAddress.createUnresolved(host, port);
    }
    spelling.putIfAbsent(address, text);
    return address;
  }

  /** The case's spelling of an address this channel handed to the policy. */
  String name(SocketAddress address) {
    String text = spelling.get(address);
    return text != null ? text : address.toString();
  }

  /**
   * new_subchannel.addresses: the addresses as the policy passed them, each with its EAG's
   * attributes (PROTOCOL.md: "attributes included"). grpc-java keeps attributes per EAG, so every
   * address of a group reports the group's; an address whose group carries none is a plain
   * {@code "host:port"}. Only attributes named by cases are reported: the endpoint weight
   * (ATTR_WEIGHT, the case's endpoint {@code weight}) is not an address attribute on the wire, as
   * grpc-go's adapter does not report its endpoint weights either. grpc-java has no server name
   * per address and no balancer attributes, so neither is ever reported.
   */
  List<Object> toJson(List<EquivalentAddressGroup> groups) {
    List<Object> out = new ArrayList<>();
    for (EquivalentAddressGroup group : groups) {
      Map<String, Object> attributes = caseAttributes(group.getAttributes());
      for (SocketAddress address : group.getAddresses()) {
        out.add(attributes.isEmpty()
            ? name(address)
            : Json.obj("addr", name(address), "attributes", attributes));
      }
    }
    return out;
  }

  /** The attributes under the keys cases name, sorted by name (Attributes has no order). */
  private static Map<String, Object> caseAttributes(Attributes attributes) {
    Map<String, Object> out = new TreeMap<>();
    for (Map.Entry<String, Attributes.Key<Object>> key : KEYS.entrySet()) {
      Object value = attributes.get(key.getValue());
      if (value != null) {
        out.put(key.getKey(), value);
      }
    }
    return out;
  }

  List<String> names(List<EquivalentAddressGroup> groups) {
    List<String> out = new ArrayList<>();
    for (EquivalentAddressGroup group : groups) {
      for (SocketAddress address : group.getAddresses()) {
        out.add(name(address));
      }
    }
    return out;
  }
}
