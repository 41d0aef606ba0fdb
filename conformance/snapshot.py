"""Copies of an in-process case run, so that explore can fork a run rather than replay it.

explore re-enters a state by replaying its shortest path as a fresh case
(conformance/explore.py ``replay``).  When the implementation runs in this process,
the whole run -- the runner's names and trace, the monitors, the session, the
transport and the adapter with its channel -- is a graph of Python objects, and a
copy of it, fed one more input, gives what a replay of the longer path gives.

:func:`take` pickles the run and :func:`restore` loads a copy: pickle's C loader is
several times faster than ``copy.deepcopy`` (measured: 0.5 ms against 2-4 ms for a
pick_first run of six inputs).  Classes, enum members and module-level functions are
shared by reference, as pickle always does; the :class:`_Pickler` also copies what
plain pickle cannot:

* a closure (a listener ``lambda state: self._on_state(entry, state)``): a new
  function over new cells that hold copies of the contents, so that it calls the
  *copied* balancer (``copy.deepcopy`` would keep the old function, and the copy
  would drive the original);
* a lock: a fresh one (between steps no lock is held; a held one is refused);
* ``itertools.count``: rebuilt from its repr (pickling one is deprecated from
  Python 3.12).

Anything else pickle cannot copy (a generator, an open file) raises
:class:`SnapshotError`; explore then replays instead.  A snapshot is restored only
in the process that took it: code objects and classes defined in a function are
referenced, not pickled (``Snapshot.shared``).
"""

from __future__ import annotations

import ast
import enum
import io
import itertools
import pickle
import sys
import threading
import types
from typing import Any

import attrs

from conformance.errors import ConformanceError

_LOCK = type(threading.Lock())
_RLOCK = type(threading.RLock())


class SnapshotError(ConformanceError):
    """The object graph holds something that cannot be copied."""


@attrs.frozen
class Snapshot:
    """An object graph, pickled; ``shared``: what it references rather than copies."""

    data: bytes
    shared: tuple[Any, ...]


def take(obj: object) -> Snapshot:
    """A snapshot of ``obj`` and everything it reaches (:func:`restore` makes a copy)."""
    buffer = io.BytesIO()
    pickler = _Pickler(buffer, pickle.HIGHEST_PROTOCOL)
    try:
        pickler.dump(obj)
    except (pickle.PicklingError, TypeError, AttributeError, ValueError) as err:
        raise SnapshotError(f"cannot copy the run: {err}") from None
    return Snapshot(buffer.getvalue(), tuple(pickler.shared))


def restore(snapshot: Snapshot) -> Any:
    """A fresh copy of the object graph :func:`take` saved."""
    return _Unpickler(io.BytesIO(snapshot.data), snapshot.shared).load()


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, protocol: int) -> None:
        super().__init__(file, protocol)
        self.shared: list[Any] = []
        self._places: dict[int, int] = {}  # id -> index in shared

    def persistent_id(self, obj: Any) -> int | None:
        # Code, and classes defined in a function (planted bugs build theirs so), which
        # pickle cannot find by name: referenced, as pickle references every other class.
        if isinstance(obj, types.CodeType) or (
            isinstance(obj, type) and "<locals>" in obj.__qualname__
        ):
            if id(obj) not in self._places:
                self._places[id(obj)] = len(self.shared)
                self.shared.append(obj)
            return self._places[id(obj)]
        return None

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, types.FunctionType) and _local(obj):
            return _function, (
                obj.__code__,
                obj.__module__,
                obj.__name__,
                obj.__qualname__,
                obj.__defaults__,
                obj.__kwdefaults__,
                obj.__closure__,
            )
        if isinstance(obj, enum.Enum) and _named(obj):
            # By name, looked up in C: Enum's own reduction calls State(1) in Python.
            return f"{type(obj).__qualname__}.{obj.name}"
        if isinstance(obj, types.CellType):
            try:
                contents = obj.cell_contents
            except ValueError:  # a variable not bound yet
                return _cell, ()
            # The contents as state, set after the cell is memoised: a closure's cells
            # often lead back to the closure (self -> listeners -> the closure).
            return _cell, (), (contents,), None, None, _fill_cell
        if isinstance(obj, _LOCK | _RLOCK):
            if isinstance(obj, _LOCK) and obj.locked():
                raise SnapshotError("a lock is held")
            return (threading.Lock if isinstance(obj, _LOCK) else threading.RLock), ()
        if isinstance(obj, itertools.count):
            args = ast.literal_eval(repr(obj).removeprefix("count"))  # "count(5)", "count(5, 2)"
            return itertools.count, args if isinstance(args, tuple) else (args,)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, shared: tuple[Any, ...]) -> None:
        super().__init__(file)
        self._shared = shared

    def persistent_load(self, pid: Any) -> Any:
        return self._shared[pid]


def _named(member: enum.Enum) -> bool:
    """A member of a module-level enum that its name finds (not a combination of flags)."""
    cls = type(member)
    return "<locals>" not in cls.__qualname__ and getattr(cls, member.name or "", None) is member


def _local(function: types.FunctionType) -> bool:
    """A lambda or nested function: pickle cannot find it by name, and it may close over
    state of the run.  Module-level functions are shared, as pickle does."""
    module = sys.modules.get(function.__module__)
    if module is None or function.__globals__ is not vars(module):
        raise SnapshotError(f"function {function.__qualname__} has no module to live in")
    return function.__closure__ is not None or "<" in function.__qualname__


def _function(
    code: types.CodeType,
    module: str,
    name: str,
    qualname: str,
    defaults: tuple[Any, ...] | None,
    kwdefaults: dict[str, Any] | None,
    closure: tuple[types.CellType, ...] | None,
) -> types.FunctionType:
    function = types.FunctionType(code, vars(sys.modules[module]), name, defaults, closure)
    function.__qualname__ = qualname
    function.__kwdefaults__ = kwdefaults
    return function


def _cell() -> types.CellType:
    return types.CellType()  # (pickle finds no types.CellType by name)


def _fill_cell(cell: types.CellType, state: tuple[Any]) -> None:
    cell.cell_contents = state[0]
