"""Real I/O: run this project's reference policies over grpcio with real servers.

* :class:`~refimpl.io.balanced_channel.BalancedChannel` -- a ``grpc.Channel`` balanced by
  any registered reference policy.
* :class:`~refimpl.io.backend.Backend` -- a small steerable test backend.
* :mod:`refimpl.io.scenarios` -- observable scenarios run against a
  BalancedChannel or against grpcio's native policies (the black-box check).

Needs the ``io`` extra (grpcio, grpcio-health-checking, xds-protos).
"""

from __future__ import annotations

from refimpl.io.backend import Backend
from refimpl.io.balanced_channel import BalancedChannel
from refimpl.io.subchannel import SubchannelOptions

__all__ = ["Backend", "BalancedChannel", "SubchannelOptions"]
