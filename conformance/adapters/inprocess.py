"""The reference implementation attached in-process: the same adapter, no subprocess.

Messages still go through JSON text, so the in-process run exercises the same
codec as the subprocess one; it is the fast path for tests and fuzzing.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from conformance.adapters.refimpl import RefimplAdapter
from conformance.transport import InProcessTransport


def refimpl_transport(load: Iterable[str] = ()) -> InProcessTransport:
    """A transport to a fresh :class:`RefimplAdapter`, after importing ``load`` modules."""
    for module in load:
        importlib.import_module(module)
    return InProcessTransport(RefimplAdapter().handle)
