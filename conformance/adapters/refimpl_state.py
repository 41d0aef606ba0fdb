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
from refimpl.clock import Timer, VirtualClock, VirtualTimer
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


# How the walk renders an object.
class _Kind(enum.Enum):
    PLAIN = "itself"
    TYPE = "its name"
    TOKEN = "a token"
    SUBCONN = "the spec key's number"
    VALUE = "its contents, wherever it is met"
    MUTABLE = "its contents where first met, then its place in the walk"


class _Shape(enum.Enum):
    TIMER = enum.auto()
    SEQUENCE = enum.auto()
    SET = enum.auto()
    DICT = enum.auto()
    PARTIAL = enum.auto()
    ROUTINE = enum.auto()
    OBJECT = enum.auto()


# Each is decided once per class (the caches below): a class is one kind and one shape
# for all its instances, and a walk meets the same few classes hundreds of times a state.
def _kind(cls: type) -> _Kind:
    if issubclass(cls, str | int | float | bool | type(None) | enum.Enum | Duration):
        return _Kind.PLAIN
    if issubclass(cls, type):
        return _Kind.TYPE
    if issubclass(cls, _TOKENS):
        return _Kind.TOKEN
    if issubclass(cls, FakeSubConn):
        return _Kind.SUBCONN
    # Values by value: whether two paths share one Address or hold two equal ones is
    # not state.  Only what can change (and so be aliased, or form a cycle) is tracked.
    frozen = attrs.has(cls) and cls.__setattr__ is _FROZEN_SETATTR
    if issubclass(cls, tuple | frozenset) or frozen:
        return _Kind.VALUE
    return _Kind.MUTABLE


def _shape(value: Any) -> _Shape:
    cls = type(value)
    if issubclass(cls, Timer):
        if not issubclass(cls, VirtualTimer):
            raise RefimplStateError(f"implementation state: a {cls.__qualname__} is not virtual")
        return _Shape.TIMER
    if issubclass(cls, list | tuple):
        return _Shape.SEQUENCE
    if issubclass(cls, set | frozenset):
        return _Shape.SET
    if issubclass(cls, dict):
        return _Shape.DICT
    if issubclass(cls, functools.partial):
        return _Shape.PARTIAL
    return _Shape.ROUTINE if inspect.isroutine(value) else _Shape.OBJECT


def _declared_names(cls: type) -> tuple[str, ...]:
    """The attributes ``cls`` declares: its attrs fields, else its slots."""
    if attrs.has(cls):
        return tuple(f.name for f in attrs.fields(cls))
    return tuple(s for c in cls.__mro__ for s in getattr(c, "__slots__", ()))


def _instants(cls: type) -> frozenset[str]:
    """Which of ``cls``'s attributes hold a clock reading (:data:`INSTANTS`)."""
    return frozenset().union(*(INSTANTS.get(c, ()) for c in cls.__mro__))


_KINDS: dict[type, _Kind] = {}
_SHAPES: dict[type, _Shape] = {}
_FIELDS: dict[type, tuple[tuple[str, ...], frozenset[str]]] = {}  # names, instants


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
        cls = type(value)
        kind = _KINDS.get(cls) or _KINDS.setdefault(cls, _kind(cls))
        if kind is _Kind.PLAIN:
            return value
        if kind is _Kind.TYPE:
            return ("type", value.__qualname__)
        if kind is _Kind.TOKEN:
            return ("token", cls.__qualname__)
        if kind is _Kind.SUBCONN:
            return ("subconn", self.subconn(value))
        if kind is _Kind.MUTABLE:
            if id(value) in self.seen:  # met again: its place in the walk
                return ("ref", self.seen[id(value)])
            self.seen[id(value)] = len(self.seen)
        return self.contents(value)

    def contents(self, value: Any) -> Any:
        cls = type(value)
        shape = _SHAPES.get(cls) or _SHAPES.setdefault(cls, _shape(value))
        if shape is _Shape.TIMER:
            left = None if value.cancelled else value.deadline - self.now
            return ("timer", left, self.value(value.callback))
        if shape is _Shape.SEQUENCE:
            return tuple(self.value(v) for v in value)
        if shape is _Shape.SET:
            return ("set", *sorted(repr(self.value(v)) for v in value))
        if shape is _Shape.DICT:  # insertion order kept: iteration order is behaviour
            return ("dict", *((self.value(k), self.value(v)) for k, v in value.items()))
        if shape is _Shape.PARTIAL:
            return ("partial", *(self.value(v) for v in (value.func, value.args, value.keywords)))
        if shape is _Shape.ROUTINE:
            return render_routine(value, self.value)
        return (cls.__qualname__, *self.fields(value))

    def fields(self, value: Any) -> list[Any]:
        cls = type(value)
        if cls not in _FIELDS:
            _FIELDS[cls] = (_declared_names(cls), _instants(cls))
        names, instants = _FIELDS[cls]
        if not attrs.has(cls):
            if hasattr(value, "__dict__"):
                names = tuple(vars(value))
            elif not names:
                raise RefimplStateError(
                    f"implementation state: no canonical form for a {cls.__qualname__}"
                )
        return [
            (n, self.age(getattr(value, n)) if n in instants else self.value(getattr(value, n)))
            for n in names
            if hasattr(value, n)
        ]
