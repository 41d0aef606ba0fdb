"""The reference implementation as a protocol-v1 adapter: the worked example.

Run it as ``python -m conformance.adapters.refimpl``; it reads one JSON
message per line on stdin and writes one reply per line on stdout, as
``conformance/PROTOCOL.md`` specifies.  Another implementation's adapter does
the same four things:

1. answer ``start`` with its protocol version, name and capabilities;
2. on ``begin``, build a fresh channel with the named policy (here a
   :class:`refimpl.driver.Driver`) with the case's profile, health option and seed;
3. on ``step``, decode the input (the runner names subchannels by the handles
   this adapter gave them), deliver it, run everything it triggers until quiet,
   and answer with every output, naming new subchannels with fresh handles;
4. on ``end`` drop the channel; on ``stop`` exit.

``--load MODULE`` imports extra modules first, so that policies under
development (or test policies) register themselves.
"""

from __future__ import annotations

import copy
import importlib
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from conformance import protocol, wire
from conformance.errors import JsonPath, WireError
from refimpl import registry
from refimpl.balancer import BalancerError, Builder
from refimpl.driver import Driver
from refimpl.pick_first import PickFirstBuilder
from refimpl.round_robin import RoundRobinBuilder
from spec.connectivity import Profile
from spec.options import (
    FailureError,
    GracefulSwitchRule,
    RepeatedEndpoint,
    ResolverErrorBeforeConfig,
    SelectedAddressRemoved,
)

if TYPE_CHECKING:
    import argparse

IMPLEMENTATION = protocol.Implementation(
    "grpc-lb-reference refimpl", version="0.1.0", language="python"
)


def subchannel_handle(ident: int) -> wire.JsonValue:
    """The handle the adapter gives a SubConn (``FakeSubConn.ident``) on the wire."""
    # Deliberately not the bare spec ID: the runner must map handles itself.
    return f"sc-{ident}"


def _ident(value: wire.JsonValue, path: JsonPath) -> int:
    text = wire.expect_str(value, path)
    if not text.startswith("sc-") or not text[3:].isdigit():
        raise WireError(path, f"not a handle this adapter gave out: {text!r}")
    return int(text[3:])


# Where the sources differ (spec/options.py), what refimpl does, with the line that does it.
REFIMPL_SPEC_OPTIONS: dict[str, str] = {
    "pick_first.reresolution": "spec_text",  # pick_first.py asks itself (PF-28)
    "pick_first.lost_subchannel": "kept",  # pick_first.py _lose spares it (PF-20)
    "pick_first.happy_eyeballs": "enabled",  # pick_first.py arms the 250 ms timer
    "pick_first.resolver_error_with_addresses": "keep_subchannels",  # PF-22
    "pick_first.family_interleaving": "three_families",  # interleave_by_family (AddressFamily)
    "pick_first.ipv4_mapped_family": "ipv4",  # spec/types.py: a mapped address is IPV4
    "pick_first.ready_on_update": "unchanged",  # pick_first.py keeps the READY one (PF-8)
    "pick_first.selected_address_removed": "goes_idle",  # pick_first.py PF-10 (the spec text)
    "pick_first.variant": "leaf",
    "pick_first.attribute_change": "new_subchannel",  # spec/types.py: Address keeps attributes
    "pick_first.subchannel_creation": "lazy",  # pick_first.py _connect_from_cursor (PF-11)
    "round_robin.start_index": "random_per_picker",  # endpoint_sharding.py randrange
    "round_robin.idle_child": "as_connecting",  # endpoint_sharding.py (AGG-7)
    "round_robin.resolver_error": "pass_to_children",  # endpoint_sharding.py resolver_error
    "round_robin.exit_idle": "forward",  # endpoint_sharding.py exit_idle: every child, one report
    # endpoint_sharding.py _pickers_to_rotate: the failing children's pickers take turns (RR-9)
    "round_robin.failure_error": "rotating_children",
    # endpoint_sharding.py update_client_conn_state: rotated, then a repeat is skipped (RR-2)
    "round_robin.repeated_endpoint": "first_wins",
    # endpoint_sharding.py update_client_conn_state: a still-listed endpoint keeps its child
    "round_robin.children_on_update": "kept",
    "least_request_experimental.count_lifetime": "while_ready",
    "weighted_round_robin.weight_caps": "grpc_cpp",
    "weighted_round_robin.weight_on_reconnect": "reset_all",  # weighted_round_robin.on_ready
    # weighted_round_robin.py: each new picker's start is drawn from the random (WRR-20)
    "weighted_round_robin.start_index": "random_per_picker",
    "service_config.unknown_policy_name": "case_sensitive_skip",  # SC-6
    # graceful_switch.py _child_update_state: grpc-go's rule (GS-5, GS-6)
    "service_config.graceful_switch": "grpc_go",
    "round_robin.update_report": "every_update",  # endpoint_sharding.py reports per update (RR-10)
    "pick_first.connecting_report": "on_connect",  # pick_first.py: CONNECTING with the connect
    "least_request_experimental.missing_config": "reject",  # least_request.py (LR-5)
    "pick_first.sticky_failure_report": "every_n_failures",  # pick_first.py _failures (PF-16)
    # No subchannels of its own (the case plays them); refimpl/io runs on grpcio, C-core: idle.
    "subchannel.backoff_end": "idle",
    "subchannel.pool": "none",  # driver.py new_subconn: a new FakeSubConn every call
    # driver.py _on_resolver_error: grpc-go's channel applies the default config (SC-14)
    "service_config.resolver_error_before_config": "default_config",
}

# Options the reference can follow either way, set per case by ``begin`` (PROTOCOL.md,
# "Spec options"): so its run shows both behaviours and skips no case for them.
REFIMPL_CONFIGURABLE_OPTIONS: dict[str, tuple[str, ...]] = {
    "pick_first.selected_address_removed": ("goes_idle", "reconnects"),
    # The case plays the subchannels, so the reference runs with whichever edge it takes.
    "subchannel.backoff_end": ("idle", "connecting", "connecting_if_requested"),
    # refimpl/graceful_switch.py follows each rule (GracefulSwitchBalancer.rule).
    # endpoint_sharding.py follows either (EndpointSharding.failure_error, RR-9).
    "round_robin.failure_error": tuple(f.value for f in FailureError),
    # endpoint_sharding.py follows first_wins and last_wins (EndpointSharding.repeated_endpoint,
    # RR-2); every_copy, a child per copy sharing a pooled subchannel, it does not.
    "round_robin.repeated_endpoint": (
        RepeatedEndpoint.FIRST_WINS.value,
        RepeatedEndpoint.LAST_WINS.value,
    ),
    "service_config.graceful_switch": tuple(r.value for r in GracefulSwitchRule),
    # driver.py follows either (Driver.resolver_error_before_config, SC-14).
    "service_config.resolver_error_before_config": (
        ResolverErrorBeforeConfig.DEFAULT_CONFIG.value,
        ResolverErrorBeforeConfig.NO_CONFIG.value,
    ),
}


def configured(builder: str | Builder, options: wire.JsonObject) -> str | Builder:
    """``builder`` set to the case's configurable option values (pick_first's, round_robin's
    failure error and repeated endpoints, the service-config channel's graceful switch)."""
    found = registry.get(builder) if isinstance(builder, str) else builder
    rule = options.get("service_config.graceful_switch")
    if isinstance(rule, str):
        # Imported here, as in builder_for: every adapter start would pay for it.
        from refimpl.service_config_channel import ServiceConfigChannelBuilder

        if isinstance(found, ServiceConfigChannelBuilder):
            switching = copy.copy(found)  # never the caller's: cases stay independent
            switching.graceful_switch = GracefulSwitchRule(rule)
            return switching
    failure_error = options.get("round_robin.failure_error")
    repeated = options.get("round_robin.repeated_endpoint")
    if isinstance(found, RoundRobinBuilder) and (
        isinstance(failure_error, str) or isinstance(repeated, str)
    ):
        chosen_rr = copy.copy(found)  # never the registered instance: cases stay independent
        if isinstance(failure_error, str):
            chosen_rr.failure_error = FailureError(failure_error)
        if isinstance(repeated, str):
            chosen_rr.repeated_endpoint = RepeatedEndpoint(repeated)
        return chosen_rr
    value = options.get("pick_first.selected_address_removed")
    if value is None or not isinstance(found, PickFirstBuilder):
        return builder
    chosen = copy.copy(found)  # never the registered instance: cases stay independent
    chosen.selected_address_removed = SelectedAddressRemoved(value)
    return chosen


def _resolver_error_before_config(options: wire.JsonObject) -> ResolverErrorBeforeConfig:
    """The channel's SC-14 behaviour for this case: the case's value, else the declared one."""
    key = "service_config.resolver_error_before_config"
    value = options.get(key, REFIMPL_SPEC_OPTIONS[key])
    return ResolverErrorBeforeConfig(str(value))  # begin checked it against the registry


class RefimplAdapter:
    """Answers protocol messages by driving the reference implementation."""

    implementation = IMPLEMENTATION

    def __init__(self) -> None:
        self.driver: Driver | None = None

    def builder_for(self, policy: str) -> str | Builder:
        """What ``begin`` builds for ``policy``: the registered builder of that name.

        A subclass may substitute another builder (``conformance/planted.py``).
        The pseudo-policy ``service_config`` is the channel's LB layer: service config
        selection and graceful switch (refimpl/service_config_channel.py).
        """
        if policy == protocol.SERVICE_CONFIG_POLICY:
            # Imported here: every adapter start would pay for it (bench/NOTES.md).
            from refimpl.service_config_channel import ServiceConfigChannelBuilder

            return ServiceConfigChannelBuilder()
        return policy

    def capabilities(self) -> protocol.Capabilities:
        return protocol.Capabilities(
            policies=frozenset(registry.names()),
            time="virtual",
            seedable_random=True,
            health_listener=True,
            orca=True,
            service_config=True,
            profiles=frozenset(Profile),
            spec_options=tuple(sorted(REFIMPL_SPEC_OPTIONS.items())),
            configurable_options=tuple(sorted(REFIMPL_CONFIGURABLE_OPTIONS.items())),
        )

    def handle(self, message: wire.JsonObject) -> wire.JsonObject | None:
        """One reply per message; ``None`` for ``stop``."""
        try:
            kind, msg = protocol.read_request(message)
        except WireError as err:
            return protocol.error_message(f"bad request: {err}")
        if kind == "start":
            # A runner speaking another version sees ours and reports the mismatch.
            return protocol.started_message(self.implementation, self.capabilities())
        if kind == "begin":
            try:
                options = wire.expect_object(msg.get("spec_options", {}), ("spec_options",))
                self.driver = Driver(
                    configured(self.builder_for(str(msg["policy"])), options),
                    seed=int(msg["seed"]),
                    health_checking=bool(msg["health_checking"]),
                    profile=Profile(msg["profile"]),
                    resolver_error_before_config=_resolver_error_before_config(options),
                )
            except (BalancerError, ValueError, WireError) as err:
                return protocol.error_message(f"cannot begin case {msg['case']!r}: {err}")
            return protocol.begun_message()
        if kind == "step":
            return self._step(int(msg["seq"]), msg["input"])
        if kind == "end":
            self.driver = None
            return protocol.ended_message()
        return None  # stop

    def _step(self, seq: int, raw_input: wire.JsonValue) -> wire.JsonObject:
        if self.driver is None:
            return protocol.error_message("step before begin", seq)
        try:
            event = wire.input_from_json(raw_input, ("input",), _ident)
            outputs = self.driver.step(event)
        except (WireError, BalancerError) as err:
            return protocol.error_message(f"{type(err).__name__}: {err}", seq)
        handles = [wire.output_to_json(o, subchannel_handle) for o in outputs]
        return protocol.outputs_message(seq, handles)


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    # argparse only when there are options: runs start the adapter without any, and
    # argparse with what it loads is ~8 ms (-X importtime) of a start that every run
    # with a fresh adapter pays (bench/NOTES.md).
    if args:
        for module in _options(args).load:
            importlib.import_module(module)
    return serve(RefimplAdapter())


def _options(args: Sequence[str]) -> argparse.Namespace:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m conformance.adapters.refimpl",
        description="The reference implementation as a conformance adapter (protocol v1).",
    )
    parser.add_argument(
        "--load",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (it registers extra policies); repeatable",
    )
    return parser.parse_args(args)


def serve(adapter: RefimplAdapter) -> int:
    """Answer protocol messages on stdin with replies on stdout until ``stop`` or EOF."""
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        reply: wire.JsonObject | None
        try:
            message = wire.parse_json(line)
        except WireError as err:  # NaN, 1e400, nesting too deep: refused, not crashed on
            reply = protocol.error_message(f"bad request: {err}")
        else:
            reply = _answer(adapter, message)
        if reply is None:
            return 0
        out.write(json.dumps(reply, separators=(",", ":")) + "\n")
        out.flush()
    return 0


def _answer(adapter: RefimplAdapter, message: wire.JsonValue) -> wire.JsonObject | None:
    try:
        return adapter.handle(message)
    except Exception:
        # Print the traceback for the runner's stderr tail, then report the error.
        import traceback  # here: only a failure needs it (~3 ms of the start otherwise)

        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        return protocol.error_message("the adapter failed; see its stderr")


if __name__ == "__main__":
    sys.exit(main())
