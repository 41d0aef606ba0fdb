"""The registry of balancer builders (grpc-go balancer/balancer.go, Register / Get).

Names are case-sensitive and the last registration of a name wins (REG-1, REG-2).
"""

from __future__ import annotations

import threading

from refimpl.balancer import Builder, OptionError

_lock = threading.RLock()
_builders: dict[str, Builder] = {}
_builtins_loaded = False


def _load_builtins() -> None:
    # Deferred: the policy modules import this one to register themselves.
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        import refimpl.builtin  # noqa: F401


def register(builder: Builder) -> None:
    """Register ``builder`` under ``builder.name``; replaces an earlier one of that name."""
    name = builder.name
    if not isinstance(name, str) or not name:
        raise OptionError(f"a balancer builder needs a non-empty name, got {name!r}")
    with _lock:
        _builders[name] = builder


def get(name: str) -> Builder | None:
    """The builder registered as ``name`` (exact, case-sensitive match), or None."""
    _load_builtins()
    with _lock:
        return _builders.get(name)


def unregister_for_testing(name: str) -> None:
    with _lock:
        _builders.pop(name, None)


def names() -> list[str]:
    _load_builtins()
    with _lock:
        return sorted(_builders)
