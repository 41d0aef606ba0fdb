"""The round_robin policy: endpoint sharding over pick_first leaves that watch health.

grpc-go ``balancer/roundrobin/roundrobin.go``: the builder takes no config
(RR-15), builds :class:`refimpl.endpoint_sharding.EndpointSharding` with the
registered pick_first as the child policy (RR-1), and turns on the children's
health listener through the resolver attributes before every update
(HEALTH-4; grpc-go ``pickfirst.EnableHealthListener``).  Everything else
(rotation, duplicates, aggregation, the picker) is endpoint sharding's.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from refimpl import registry
from refimpl.balancer import (
    Balancer,
    BalancerError,
    Builder,
    BuildOptions,
    ClientConn,
    ClientConnState,
)
from refimpl.endpoint_sharding import EndpointSharding
from refimpl.pick_first import enable_health_listener
from spec.options import FailureError, RepeatedEndpoint
from spec.types import Status

NAME = "round_robin"
CHILD_POLICY = "pick_first"


class RoundRobinBalancer(Balancer):
    """One health-watching pick_first child per endpoint, picked in turn."""

    def __init__(
        self,
        cc: ClientConn,
        options: BuildOptions,
        child_builder: Builder,
        sharding_type: type[EndpointSharding] = EndpointSharding,
        failure_error: FailureError = FailureError.ROTATING_CHILDREN,
        repeated_endpoint: RepeatedEndpoint = RepeatedEndpoint.FIRST_WINS,
    ) -> None:
        self._sharding = sharding_type(cc, options, child_builder, failure_error, repeated_endpoint)

    def update_client_conn_state(self, state: ClientConnState) -> None:
        # RR-15: whatever config arrived is dropped; HEALTH-4: the leaves watch health.
        self._sharding.update_client_conn_state(
            attrs.evolve(
                state, resolver_state=enable_health_listener(state.resolver_state), config=None
            )
        )

    def resolver_error(self, error: Status) -> None:
        self._sharding.resolver_error(error)

    def exit_idle(self) -> None:
        self._sharding.exit_idle()

    def close(self) -> None:
        self._sharding.close()


class RoundRobinBuilder(Builder):
    """Builds round_robin; no ConfigParser, as in grpc-go (RR-15).

    ``sharding_type`` and :meth:`child_builder` say what it is built of; a planted bug
    (conformance/planted.py) swaps one of them for a variant with one rule changed.
    """

    name = NAME
    sharding_type: ClassVar[type[EndpointSharding]] = EndpointSharding
    # RR-9 (round_robin.failure_error): grpc-go's rotation; a case may ask for most_recent.
    failure_error: FailureError = FailureError.ROTATING_CHILDREN
    # RR-2 (round_robin.repeated_endpoint): grpc-go's first_wins; a case may ask for last_wins.
    repeated_endpoint: RepeatedEndpoint = RepeatedEndpoint.FIRST_WINS

    def child_builder(self) -> Builder:
        """The registered pick_first (RR-1)."""
        child = registry.get(CHILD_POLICY)
        if child is None:
            raise BalancerError(
                f"{NAME} needs the {CHILD_POLICY!r} policy, which is not registered"
            )
        return child

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        return RoundRobinBalancer(
            cc,
            options,
            self.child_builder(),
            self.sharding_type,
            self.failure_error,
            self.repeated_endpoint,
        )


registry.register(RoundRobinBuilder())
