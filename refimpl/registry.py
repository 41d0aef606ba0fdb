"""The registry of balancer builders (grpc-go balancer/balancer.go, Register / Get).

Names are case-sensitive and the last registration of a name wins (REG-1, REG-2).

Each policy module registers its builder when it is imported, as grpc-go's
policies do in ``init()``; the registry imports none of them.  The channels
(refimpl.driver, refimpl.service_config, refimpl.io.balanced_channel) import
:mod:`refimpl.builtin`, as grpc-go's clientconn.go imports pickfirst and
roundrobin, so the built-in names are there wherever a channel is.
"""

from __future__ import annotations

import threading

from refimpl.balancer import Builder, OptionError

_lock = threading.RLock()
_builders: dict[str, Builder] = {}


def register(builder: Builder) -> None:
    """Register ``builder`` under ``builder.name``; replaces an earlier one of that name."""
    name = builder.name
    if not isinstance(name, str) or not name:
        raise OptionError(f"a balancer builder needs a non-empty name, got {name!r}")
    with _lock:
        _builders[name] = builder


def get(name: str) -> Builder | None:
    """The builder registered as ``name`` (exact, case-sensitive match), or None."""
    with _lock:
        return _builders.get(name)


def unregister_for_testing(name: str) -> None:
    with _lock:
        _builders.pop(name, None)


def names() -> list[str]:
    with _lock:
        return sorted(_builders)
