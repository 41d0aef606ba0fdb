"""The least_request monitor catches each rule being broken (planted-bug fakes).

:class:`FakeLeastRequest` writes the trace a least-request policy would produce
for a random workload of picks and Dones.  Correct, it is judged clean; with one
planted bug, the monitor names the rule it breaks.  The statistical rule
(LR-10) needs long traces to have power: the fakes run 2000 steps.
"""

from __future__ import annotations

import random
from typing import Literal

import pytest

from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors.least_request import (
    CountLifetime,
    LeastRequestMonitor,
    Selection,
    choice_probabilities,
    freedman_bound,
    parse_choice_count,
)
from spec.trace import Step, judge
from spec.types import Endpoint, Status, StatusCode

Bug = Literal[
    "none",
    "uniform",  # ignores the counts (LR-7, LR-10)
    "ties_to_last",  # a later sample with an equal count wins (allowed: same law)
    "no_decrement",  # Done never lowers the count (LR-8)
    "keep_counts",  # a count survives its endpoint leaving READY (LR-9)
    "old_done_hits_new_count",  # a Done of an RPC picked before lowers the new count (LR-9)
    "full_scan",  # the seed's variant (LR-11)
]


class FakeLeastRequest:
    """The trace of a least-request policy over n endpoints, maybe with one bug."""

    def __init__(
        self, n: int, *, choice_count: int = 2, config: object = None, bug: Bug = "none"
    ) -> None:
        self.n, self.k, self.bug = n, choice_count, bug
        self.rng = random.Random(f"{n}-{choice_count}-{bug}")
        self.counts = [0] * n
        self.epoch = [0] * n  # bumped when an endpoint leaves READY
        self.outstanding: dict[int, tuple[int, int]] = {}  # pick id -> (endpoint, epoch)
        self.next_pick = 1
        self.endpoints = [Endpoint([f"10.0.0.{i + 1}:80"]) for i in range(n)]
        created: list[act.Output] = []
        for i in range(n):
            created += [act.NewSubchannel(i + 1, [f"10.0.0.{i + 1}:80"], True), act.Connect(i + 1)]
        raw = {"choiceCount": choice_count} if config is None else config
        self.steps = [
            Step(
                ev.ResolverUpdate(self.endpoints, config=raw),
                [*created, act.UpdateState(State.CONNECTING)],
            )
        ]
        for i in range(n):
            self.steps.append(Step(ev.SubchannelStateChange(i + 1, State.CONNECTING)))
            self.steps.append(
                Step(ev.SubchannelStateChange(i + 1, State.READY), [act.UpdateState(State.READY)])
            )

    def choose(self) -> int:
        if self.bug == "uniform":
            return self.rng.randrange(self.n)
        if self.bug == "full_scan":
            return min(range(self.n), key=lambda i: self.counts[i])
        chosen = self.rng.randrange(self.n)
        for _ in range(self.k - 1):
            sample = self.rng.randrange(self.n)
            if self.counts[sample] < self.counts[chosen] or (
                self.bug == "ties_to_last" and self.counts[sample] == self.counts[chosen]
            ):
                chosen = sample
        return chosen

    def pick(self) -> None:
        i, pick_id = self.choose(), self.next_pick
        self.next_pick += 1
        self.counts[i] += 1
        self.outstanding[pick_id] = (i, self.epoch[i])
        self.steps.append(Step(ev.Pick(pick_id), [act.PickComplete(pick_id, i + 1)]))

    def done(self) -> None:
        pick_id = self.rng.choice(sorted(self.outstanding))
        i, epoch = self.outstanding.pop(pick_id)
        same_epoch = epoch == self.epoch[i] or self.bug == "old_done_hits_new_count"
        if same_epoch and self.bug != "no_decrement":
            self.counts[i] -= 1
        self.steps.append(Step(ev.Done(pick_id, error=Status(StatusCode.UNAVAILABLE))))

    def bounce(self, i: int) -> None:
        """Endpoint i loses its connection and gets it back (with new epochs of counts)."""
        sc = i + 1
        self.steps.append(
            Step(ev.SubchannelStateChange(sc, State.IDLE), [act.UpdateState(State.READY)])
        )
        if self.bug != "keep_counts":
            self.counts[i] = 0
            self.epoch[i] += 1
        self.steps.append(Step(ev.ExitIdle(), [act.Connect(sc)]))
        self.steps.append(Step(ev.SubchannelStateChange(sc, State.CONNECTING)))
        self.steps.append(
            Step(ev.SubchannelStateChange(sc, State.READY), [act.UpdateState(State.READY)])
        )

    def run(self, steps: int = 2000, bounce_every: int = 0) -> FakeLeastRequest:
        for t in range(1, steps + 1):
            if self.outstanding and self.rng.random() < 0.5:
                self.done()
            else:
                self.pick()
            if bounce_every and t % bounce_every == 0:
                self.bounce(0)
        return self

    def ids(self, selection: Selection = "sample") -> list[str]:
        monitor = lambda: LeastRequestMonitor(selection=selection)  # noqa: E731
        return sorted({v.requirement for v in judge(monitor, self.steps)})


# --- the spec's arithmetic ---


@pytest.mark.req("LR-10")
def test_choice_probabilities() -> None:
    assert choice_probabilities([0, 5], 2) == [0.75, 0.25]  # the loaded one: (1/2)^2
    assert choice_probabilities([0, 5], 3) == [0.875, 0.125]
    assert choice_probabilities([1, 1, 1], 2) == pytest.approx([1 / 3] * 3)
    assert choice_probabilities([0, 0, 7], 2) == pytest.approx([4 / 9, 4 / 9, 1 / 9])
    assert sum(choice_probabilities([3, 1, 4, 1, 5, 9, 2, 6], 10)) == pytest.approx(1)


@pytest.mark.req("LR-10")
def test_freedman_bound_grows_like_the_standard_deviation() -> None:
    assert 19 < freedman_bound(0) < 20
    assert freedman_bound(100) < freedman_bound(400) < 2.1 * freedman_bound(100)
    assert freedman_bound(10_000) < 1000  # about 7 standard deviations


@pytest.mark.req("LR-1", "LR-2", "LR-3", "LR-4")
def test_parse_choice_count() -> None:
    assert parse_choice_count({}) == 2
    assert parse_choice_count({"choiceCount": 11}) == 10
    for bad in ({"choiceCount": 1}, {"choiceCount": "2"}, {"choiceCount": 2.0}, [2]):
        with pytest.raises(ValueError, match=r"choiceCount|least_request"):
            parse_choice_count(bad)


# --- correct fakes are clean ---


@pytest.mark.req("LR-7", "LR-8", "LR-9", "LR-10")
@pytest.mark.parametrize(("n", "k"), [(2, 2), (3, 2), (5, 3), (4, 10)])
def test_a_correct_policy_is_not_flagged(n: int, k: int) -> None:
    assert FakeLeastRequest(n, choice_count=k).run(bounce_every=97).ids() == []


@pytest.mark.req("LR-7", "LR-10")
def test_tie_breaking_is_not_observable() -> None:
    """Keeping the first or the last of equal samples gives the same law; both pass."""
    assert FakeLeastRequest(3, bug="ties_to_last").run().ids() == []


@pytest.mark.req("LR-11")
def test_a_correct_full_scan_is_not_flagged() -> None:
    fake = FakeLeastRequest(3, bug="full_scan").run(bounce_every=97)
    assert fake.ids("full_scan") == []


# --- planted bugs ---


@pytest.mark.req("LR-7", "LR-10")
def test_ignoring_the_counts_is_flagged() -> None:
    assert FakeLeastRequest(3, bug="uniform").run().ids() == ["LR-10"]


@pytest.mark.req("LR-7", "LR-10")
def test_sampling_more_than_choice_count_is_flagged() -> None:
    fake = FakeLeastRequest(4, choice_count=4, config={"choiceCount": 2}).run()
    assert fake.ids() == ["LR-10"]


@pytest.mark.req("LR-3", "LR-10")
def test_not_clamping_choice_count_is_flagged() -> None:
    """Asked for 50 samples, the policy must use 10; with 50 it hardly ever errs."""
    fake = FakeLeastRequest(20, choice_count=50).run(4000)
    assert fake.ids() == ["LR-10"]
    assert FakeLeastRequest(20, choice_count=10, config={"choiceCount": 50}).run().ids() == []


@pytest.mark.req("LR-8", "LR-10", "LR-11")
def test_forgetting_to_decrement_is_flagged() -> None:
    assert FakeLeastRequest(3, bug="no_decrement").run().ids() == ["LR-10"]
    scan = FakeLeastRequest(3, bug="full_scan").run()
    scan.bug = "no_decrement"
    assert scan.run(200).ids("full_scan") == ["LR-11"]


@pytest.mark.req("LR-9", "LR-10", "LR-11")
def test_keeping_a_count_across_not_ready_is_flagged() -> None:
    assert FakeLeastRequest(2, bug="keep_counts").run(bounce_every=23).ids() == ["LR-10"]


@pytest.mark.req("LR-9", "LR-11")
def test_count_lifetime_option() -> None:
    """Endpoint 1 has 5 RPCs out; both endpoints go down, then come back.

    A48 (and this reference) drops endpoint 1's count when it leaves READY; grpc-go
    keeps it, because no picker is built while nothing is READY.  A full-scan policy
    that kept the count sends the next picks to endpoint 2 only.
    """
    fake = FakeLeastRequest(2, bug="full_scan")
    fake.steps += [Step(ev.Pick(i), [act.PickComplete(i, 2 - i % 2)]) for i in range(1, 11)]
    fake.steps += [Step(ev.Done(i)) for i in range(2, 11, 2)]  # endpoint 2's RPCs finish
    fake.steps += [
        Step(ev.SubchannelStateChange(2, State.IDLE), [act.UpdateState(State.READY)]),
        Step(ev.ExitIdle(), [act.Connect(2)]),
        Step(ev.SubchannelStateChange(1, State.IDLE), [act.UpdateState(State.CONNECTING)]),
        Step(ev.ExitIdle(), [act.Connect(1)]),
        Step(ev.SubchannelStateChange(1, State.CONNECTING)),
        Step(ev.SubchannelStateChange(1, State.READY), [act.UpdateState(State.READY)]),
        Step(ev.SubchannelStateChange(2, State.CONNECTING)),
        Step(ev.SubchannelStateChange(2, State.READY), [act.UpdateState(State.READY)]),
    ]
    fake.steps += [Step(ev.Pick(i), [act.PickComplete(i, 2)]) for i in range(11, 16)]

    def ids(lifetime: CountLifetime) -> list[str]:
        make = lambda: LeastRequestMonitor(selection="full_scan", count_lifetime=lifetime)  # noqa: E731
        return sorted({v.requirement for v in judge(make, fake.steps)})

    assert ids(CountLifetime.GRPC_GO) == []
    assert ids(CountLifetime.WHILE_READY) == ["LR-11"]
    assert CountLifetime("grpc_go") is CountLifetime.GRPC_GO  # an adapter's spec option
    with pytest.raises(ValueError, match="count_lifetime"):
        LeastRequestMonitor(count_lifetime="grpc_go")  # type: ignore[arg-type]


@pytest.mark.req("LR-9", "LR-11")
def test_an_old_done_must_not_touch_the_new_count() -> None:
    scan = FakeLeastRequest(3, bug="full_scan").run(200)
    scan.bug = "old_done_hits_new_count"
    assert scan.run(400, bounce_every=17).ids("full_scan") == ["LR-11"]


@pytest.mark.req("LR-11")
def test_full_scan_and_sampling_tell_each_other_apart() -> None:
    assert FakeLeastRequest(3, bug="full_scan").run().ids() == ["LR-10"]
    assert FakeLeastRequest(3).run(300).ids("full_scan") == ["LR-11"]


@pytest.mark.req("LR-6")
def test_least_request_picker_completes_every_pick() -> None:
    fake = FakeLeastRequest(2).run(20)
    fake.steps.append(Step(ev.Pick(999), [act.PickQueue(999)]))
    assert fake.ids() == ["LR-6"]


@pytest.mark.req("LR-6")
def test_least_request_picker_serves_only_ready_endpoints() -> None:
    fake = FakeLeastRequest(3).run(20)
    idle = Step(ev.SubchannelStateChange(3, State.IDLE), [act.UpdateState(State.READY)])
    fake.steps += [idle, Step(ev.Pick(999), [act.PickComplete(999, 3)])]
    assert "LR-6" in fake.ids()


# --- config outcomes ---


def with_update(config: object, outputs: list[act.Output]) -> FakeLeastRequest:
    fake = FakeLeastRequest(2).run(10)
    fake.steps.append(Step(ev.ResolverUpdate(fake.endpoints, config=config), outputs))
    return fake


@pytest.mark.req("LR-1")
def test_valid_config_must_not_be_rejected() -> None:
    assert with_update({"choiceCount": 3}, []).ids() == []
    assert with_update({"choiceCount": 3}, [act.UpdateRejected("no")]).ids() == ["LR-1"]


@pytest.mark.req("LR-2")
def test_choice_count_below_two_must_be_rejected() -> None:
    assert with_update({"choiceCount": 1}, []).ids() == ["LR-2"]
    assert with_update({"choiceCount": 1}, [act.UpdateRejected("parse")]).ids() == []


@pytest.mark.req("LR-4")
def test_wrongly_typed_choice_count_must_be_rejected() -> None:
    assert with_update({"choiceCount": "3"}, []).ids() == ["LR-4"]


@pytest.mark.req("LR-5")
def test_missing_config_must_be_rejected() -> None:
    assert with_update(None, []).ids() == ["LR-5"]
    assert with_update(None, [act.UpdateRejected("bad resolver state")]).ids() == []


@pytest.mark.req("LR-6")
def test_endpoints_sharing_an_address_are_not_judged() -> None:
    """Which child owns a subchannel of a shared address is not in the trace: no guessing."""
    shared = [Endpoint(["10.0.0.1:80", "10.0.0.9:80"]), Endpoint(["10.0.0.2:80", "10.0.0.9:80"])]
    cases: list[tuple[Bug, Selection]] = [("none", "sample"), ("full_scan", "full_scan")]
    for bug, selection in cases:
        fake = FakeLeastRequest(2, bug=bug).run(20)
        update = ev.ResolverUpdate(shared, config={})
        fake.steps.append(Step(update, [act.UpdateState(State.READY)]))
        fake.steps += [Step(ev.Pick(900 + i), [act.PickComplete(900 + i, 1)]) for i in range(300)]
        assert fake.ids(selection) == []
