"""An example custom policy built on the base balancer: round robin in address order.

``example_ordered_round_robin`` connects to every address at once (the base
balancer does that), and its picker sends RPCs to the READY SubConns in turn,
in the order of their address strings, always starting from the first.  It is
deliberately small: the base balancer does the SubConn bookkeeping, aggregation
and failure reporting (BASE-1..BASE-10), and the policy supplies only a
:class:`~refimpl.base.PickerBuilder`.

Use it::

    from refimpl.examples import custom_policy
    custom_policy.register()
    driver = Driver(custom_policy.NAME)

or select it from a service config::

    {"loadBalancingConfig": [{"example_ordered_round_robin": {}}]}
"""

from __future__ import annotations

import itertools
import threading

from refimpl import registry
from refimpl.balancer import Complete, Picker, PickInfo, PickResult, QueuePicker, SubConn
from refimpl.base import BaseBuilder, PickerBuilder, PickerBuildInfo

NAME = "example_ordered_round_robin"


class OrderedRoundRobinPicker(Picker):
    """Cycles through ``subconns`` in order.  Thread-safe: ``pick`` may run concurrently."""

    def __init__(self, subconns: list[SubConn]) -> None:
        self._subconns = subconns
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def pick(self, info: PickInfo) -> PickResult:
        with self._lock:
            index = next(self._counter)
        return Complete(self._subconns[index % len(self._subconns)])


class OrderedRoundRobinPickerBuilder(PickerBuilder):
    def build(self, info: PickerBuildInfo) -> Picker:
        if not info.ready:
            # Base asks for a picker while nothing is READY (but not in TRANSIENT_FAILURE):
            # queue, like grpc-go's ErrNoSubConnAvailable.
            return QueuePicker()
        ordered = sorted(info.ready, key=lambda sc: info.ready[sc].address.addr)
        return OrderedRoundRobinPicker(ordered)


def builder() -> BaseBuilder:
    """A fresh builder of the example policy."""
    return BaseBuilder(NAME, OrderedRoundRobinPickerBuilder())


def register() -> None:
    """Make the policy available by name (to the driver and to service configs)."""
    registry.register(builder())
