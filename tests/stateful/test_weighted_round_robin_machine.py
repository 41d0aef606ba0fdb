"""weighted_round_robin under random channel inputs, judged by its monitor at every step.

Both schedulers (WRR-18) run under the same rules; after Close no rebuild timer
and no out-of-band listener is left (WRR-19).
"""

from __future__ import annotations

from typing import ClassVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st

from refimpl.driver import Driver
from refimpl.weighted_round_robin import WeightedRoundRobinBuilder
from refimpl.wrr_scheduler import SchedulerKind
from spec.monitors.weighted_round_robin import WeightedRoundRobinMonitor
from spec.options import WeightCaps, WeightOnReconnect
from spec.trace import Monitor
from tests.stateful.endpoint_policies import EndpointPolicyMachine

durations = st.sampled_from(["0s", "0.05s", "0.1s", "0.3s", "1s", "2s", "5s"])
good_configs = st.fixed_dictionaries(
    {},
    optional={
        "enableOobLoadReport": st.booleans(),
        "oobReportingPeriod": durations,
        "blackoutPeriod": durations,
        "weightExpirationPeriod": st.sampled_from(["1s", "4s", "30s"]),
        "weightUpdatePeriod": durations,
        "errorUtilizationPenalty": st.sampled_from([0, 0.5, 1.0, 2]),
    },
)
bad_configs = st.sampled_from(
    [None, {"blackoutPeriod": "soon"}, {"errorUtilizationPenalty": -1}, ["not", "an", "object"]]
)


class WeightedRoundRobinMachine(EndpointPolicyMachine):
    configs: ClassVar[st.SearchStrategy[object]] = st.one_of(
        good_configs, good_configs, good_configs, bad_configs
    )

    def build(self, seed: int, health_checking: bool, variant: int) -> Driver:
        kind = [SchedulerKind.STATIC_STRIDE, SchedulerKind.SMOOTH][variant]
        builder = WeightedRoundRobinBuilder(scheduler=kind)
        return Driver(builder, seed=seed, health_checking=health_checking)

    def policy_monitors(self, variant: int) -> list[Monitor]:
        # Judged with refimpl's own spec-option values (conformance/adapters/refimpl.py).
        return [
            WeightedRoundRobinMonitor(
                health_checking=self.health_checking,
                weight_caps=WeightCaps.GRPC_CPP,
                weight_on_reconnect=WeightOnReconnect.RESET_ALL,
            )
        ]

    def after_close(self) -> None:
        # WRR-19: the rebuild timer is cancelled and every OOB stream stopped.
        assert self.d.clock.pending() == 0
        assert all(not sc.oob_listeners for sc in self.d.subconns.values())


WeightedRoundRobinMachine.TestCase.settings = settings(stateful_step_count=60, deadline=None)
TestWeightedRoundRobinMachine = pytest.mark.req(
    "WRR-1",
    "WRR-3",
    "WRR-4",
    "WRR-5",
    "WRR-6",
    "WRR-7",
    "WRR-8",
    "WRR-9",
    "WRR-10",
    "WRR-11",
    "WRR-12",
    "WRR-13",
    "WRR-16",
    "WRR-18",
    "WRR-19",
)(WeightedRoundRobinMachine.TestCase)
