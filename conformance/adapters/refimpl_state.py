"""The reference's own state, for explore's key (``explore --implementation-state``).

Here, among the adapters, because it reads the reference's objects: explore imports it
only when asked, so a run against a subprocess adapter never loads refimpl.

explore merges two paths that reach one spec state (docs/explore.md, "The canonical
abstract state, and why the abstraction is sound"): sound for the spec, whose verdicts
depend on nothing else, but an implementation that remembers what the spec forgets is
then tested along one of the two paths only.  A black-box adapter's memory cannot be
seen.  The reference run in this process can: :func:`renderer` walks its balancer and
the picker the channel holds, and explore adds the rendering to the key, so that two
paths stay apart when the reference remembers them differently.  A clean result on the
reference then assumes nothing about its hidden state but for the two things below that
stay merged.

The rendering is canonical where the raw objects differ only by naming or by when:

* a SubConn is the number the spec key gives its subchannel (``name``);
* a timer is the time left until it fires (or "cancelled"), not its deadline;
* a clock reading a policy keeps (:data:`INSTANTS`) is its age, capped at ``horizon``
  (weighted_round_robin's: past every period, no rule reads the difference);
* the channel's driver, the clock and the random source are tokens: they are shared,
  not state of the policy;
* weighted_round_robin's scheduler counter (a uint32 from a random start, moved by every
  pick) is a token, as the random source is: keeping either apart would split every
  pick into a state of its own, and the spec judges both statistically (WRR-13,
  RR-12).  These two are the hidden state still merged.

Anything else without a known shape raises :class:`RefimplStateError`, so that a
new kind of object is decided here rather than rendered by an address.
"""

from __future__ import annotations

import enum
import functools
import inspect
import itertools
import random
import threading
from collections.abc import Callable
from typing import Any

import attrs

from conformance.adapters.refimpl import RefimplAdapter, subchannel_handle
from conformance.errors import ConformanceError
from conformance.explore import render_routine
from conformance.runner import CaseRun
from conformance.transport import InProcessTransport
from refimpl.clock import Timer, VirtualClock
from refimpl.driver import Driver, FakeSubConn
from refimpl.weighted_round_robin import EndpointWeight
from refimpl.wrr_scheduler import SequenceCounter
from spec.types import Duration

# Attributes that hold a clock reading (nanoseconds), by class: rendered as ages.
INSTANTS: dict[type, frozenset[str]] = {
    EndpointWeight: frozenset({"_last_updated", "_non_empty_since"}),
}

# Shared by the whole channel, or moved by every draw or pick (the docstring above).
_TOKENS: tuple[type, ...] = (
    Driver,
    VirtualClock,
    random.Random,
    SequenceCounter,
    itertools.count,
    type(threading.Lock()),
    type(threading.RLock()),
)


@attrs.frozen
class _Frozen:
    """Its ``__setattr__`` is the one every frozen attrs class has."""


_FROZEN_SETATTR: object = _Frozen.__setattr__


def _frozen(value: Any) -> bool:
    return attrs.has(type(value)) and type(value).__setattr__ is _FROZEN_SETATTR


class RefimplStateError(ConformanceError):
    """The reference holds an object the rendering has no canonical form for."""


def renderer(run: CaseRun) -> Callable[[Callable[[int], int], Duration | None], Any] | None:
    """What renders the state of the reference behind ``run``: called with the spec key's
    number for a spec subchannel ID and the cap on ages (None: exact ages), it returns
    the balancer's and the channel's picker's state, canonical (module docstring).
    None when ``run`` is attached to anything but the reference in this process.

    The driver is held here, across the end of the case, which drops the adapter's
    reference to it.
    """
    transport = run.session.transport
    if not isinstance(transport, InProcessTransport):
        return None
    adapter = getattr(transport.handler, "__self__", None)
    driver = adapter.driver if isinstance(adapter, RefimplAdapter) else None
    if driver is None:
        return None

    def render(name: Callable[[int], int], horizon: Duration | None) -> Any:
        spec_id = {record.handle: ident for ident, record in run.names.records.items()}
        walk = _Walk(
            now=driver.clock.now().nanos,
            cap=None if horizon is None else horizon.nanos,
            subconn=lambda sc: name(spec_id.get(subchannel_handle(sc.ident), 0)),
        )
        return walk.value((driver.balancer, driver.picker))

    return render


@attrs.define
class _Walk:
    now: int
    cap: int | None
    subconn: Callable[[FakeSubConn], int]
    seen: dict[int, int] = attrs.field(factory=dict)

    def age(self, instant: int | None) -> int | None:
        if instant is None:
            return None
        age = self.now - instant
        return age if self.cap is None else min(age, self.cap)

    def value(self, value: Any) -> Any:
        if isinstance(value, str | int | float | bool | type(None) | enum.Enum | Duration):
            return value
        if isinstance(value, type):
            return ("type", value.__qualname__)
        if isinstance(value, _TOKENS):
            return ("token", type(value).__qualname__)
        if isinstance(value, FakeSubConn):
            return ("subconn", self.subconn(value))
        # Values by value: whether two paths share one Address or hold two equal ones is
        # not state.  Only what can change (and so be aliased, or form a cycle) is tracked.
        if isinstance(value, tuple | frozenset) or _frozen(value):
            return self.contents(value)
        if id(value) in self.seen:  # a mutable object met again: its place in the walk
            return ("ref", self.seen[id(value)])
        self.seen[id(value)] = len(self.seen)
        return self.contents(value)

    def contents(self, value: Any) -> Any:
        if isinstance(value, Timer):
            left = None if value.cancelled else value.deadline - self.now  # type: ignore[attr-defined]
            return ("timer", left, self.value(value.callback))  # type: ignore[attr-defined]
        if isinstance(value, list | tuple):
            return tuple(self.value(v) for v in value)
        if isinstance(value, set | frozenset):
            return ("set", *sorted(repr(self.value(v)) for v in value))
        if isinstance(value, dict):  # insertion order kept: iteration order is behaviour
            return ("dict", *((self.value(k), self.value(v)) for k, v in value.items()))
        if isinstance(value, functools.partial):
            return ("partial", *(self.value(v) for v in (value.func, value.args, value.keywords)))
        if inspect.isroutine(value):
            return render_routine(value, self.value)
        return (type(value).__qualname__, *self.fields(value))

    def fields(self, value: Any) -> list[Any]:
        if attrs.has(type(value)):
            names = [f.name for f in attrs.fields(type(value))]
        elif hasattr(value, "__dict__"):
            names = list(vars(value))
        else:
            names = [s for c in type(value).__mro__ for s in getattr(c, "__slots__", ())]
            if not names:
                raise RefimplStateError(
                    f"implementation state: no canonical form for a {type(value).__qualname__}"
                )
        instants = frozenset().union(*(INSTANTS.get(c, ()) for c in type(value).__mro__))
        return [
            (n, self.age(getattr(value, n)) if n in instants else self.value(getattr(value, n)))
            for n in names
            if hasattr(value, n)
        ]
