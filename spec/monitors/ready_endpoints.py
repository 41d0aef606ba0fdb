"""Which endpoints are READY, as a trace shows it, for policies built on endpointsharding.

round_robin, weighted_round_robin and least_request_experimental all run one
pick_first child per endpoint (grpc-go ``balancer/endpointsharding``); their
pickers serve the endpoints whose child is READY.  A monitor of such a policy
rebuilds that set from the trace alone:

* the endpoint list is the last resolver update the policy accepted,
  de-duplicated by endpoint identity (the set of address strings);
* a subchannel belongs to the endpoint of the list that holds its first
  address (pick_first creates one single-address subchannel per attempt);
* an endpoint is READY when one of its live subchannels is READY and, when
  health checking is on, its last health report was READY too (the pick_first
  leaf reports health instead of READY; gRFC A61, A17).

Without client-side health checking the channel reports health READY itself as
soon as the leaf registers its listener, within the same step, so the monitor
counts a READY subchannel as serving at once.

When two distinct endpoints of an update share an address, the trace cannot
say which endpoint's child created a subchannel for it (grpc-go calls the
policies' behaviour undefined there).  :attr:`ReadyEndpoints.ambiguous` then
stays True for the rest of the trace, and the policy monitors stop judging
picks rather than guess.

How this is derived
-------------------
Bookkeeping of what the trace shows, with no verdicts of its own and no
counterpart in the reference (issue 17): ``refimpl/endpoint_sharding.py`` knows
its children and their reported states, never which subchannel serves which
endpoint.  The attribution rule (first address) and the health rule (HEALTH-1,
HEALTH-2, HEALTH-6) come from the catalogue and the trace format.

"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors.tracker import SubchannelTracker, SubchannelView
from spec.types import Endpoint

T = TypeVar("T")

EndpointKey = frozenset[str]


def dedupe_endpoints(endpoints: Iterable[Endpoint]) -> list[Endpoint]:
    """The endpoints in order, later duplicates (same address set) dropped."""
    seen: set[EndpointKey] = set()
    kept: list[Endpoint] = []
    for endpoint in endpoints:
        if endpoint.key not in seen:
            seen.add(endpoint.key)
            kept.append(endpoint)
    return kept


class IdentityNumbering(Generic[T]):
    """Numbers objects by identity in order of first sight, for canonical states.

    Shared weight states (weighted_round_robin) and counts (least_request) are rendered
    once and referred to by number, so two monitors that share them the same way get the
    same canonical state whatever the objects' addresses (docs/explore.md).
    """

    def __init__(self) -> None:
        self.seen: list[T] = []

    def number(self, item: T) -> int:
        for place, seen in enumerate(self.seen):
            if seen is item:
                return place
        self.seen.append(item)
        return len(self.seen) - 1


class ReadyEndpoints:
    """Follows endpoints, their subchannels and which of them are READY."""

    def __init__(self, *, health_checking: bool = False) -> None:
        self.health_checking = health_checking
        self.tracker = SubchannelTracker()
        self.endpoints: list[Endpoint] = []
        self.endpoint_of: dict[int, EndpointKey] = {}  # subchannel id -> endpoint key
        self.ambiguous = False  # two endpoints shared an address at some point

    def set_endpoints(self, endpoints: Iterable[Endpoint]) -> None:
        self.endpoints = dedupe_endpoints(endpoints)
        addresses = [addr for e in self.endpoints for addr in e.key]
        if len(set(addresses)) != len(addresses):
            self.ambiguous = True

    def apply_input(self, event: ev.Input) -> None:
        self.tracker.apply_input(event)

    def apply_output(self, output: act.Output) -> None:
        self.tracker.apply_output(output)
        if isinstance(output, act.NewSubchannel):
            addr = output.addresses[0].addr
            for endpoint in self.endpoints:
                if addr in endpoint.key:
                    self.endpoint_of[output.subchannel] = endpoint.key
                    break

    def serving(self, view: SubchannelView) -> bool:
        """A subchannel that makes its endpoint READY."""
        if view.shut_down or view.state is not State.READY:
            return False
        if self.health_checking and view.health_listener:
            return view.health is State.READY
        return True

    def ready_keys(self) -> list[EndpointKey]:
        """The READY endpoints, in resolver order."""
        keys = {
            self.endpoint_of[v.ident]
            for v in self.tracker.live()
            if v.ident in self.endpoint_of and self.serving(v)
        }
        return [e.key for e in self.endpoints if e.key in keys]

    def canonical_state(self, name: Callable[[int], int]) -> tuple[Any, ...]:
        """What later judging depends on, subchannels renamed by ``name`` (conformance explore).

        The endpoints keep their resolver order (pickers serve them in it); of the
        subchannel-to-endpoint map only live subchannels count: an output naming a
        shut-down one is LB-2 whichever it is (docs/explore.md).
        """
        live = {v.ident for v in self.tracker.live()}
        owners = sorted(
            (name(i), tuple(sorted(k))) for i, k in self.endpoint_of.items() if i in live
        )
        return (
            self.tracker.canonical_state(name),
            self.health_checking,
            tuple(tuple(sorted(e.key)) for e in self.endpoints),
            tuple(owners),
            self.ambiguous,
        )

    def has_ready_subchannel(self, key: EndpointKey, *, besides: int) -> bool:
        """Whether the endpoint has a READY subchannel other than ``besides``."""
        return any(
            v.state is State.READY and self.endpoint_of.get(v.ident) == key
            for v in self.tracker.live()
            if v.ident != besides
        )
