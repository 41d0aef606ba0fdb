"""ORCA load reports on the wire: the per-call trailer and the out-of-band stream.

* Per call: a backend puts a serialised ``xds.data.orca.v3.OrcaLoadReport`` in
  the trailer ``endpoint-load-metrics-bin``.  Exactly one such trailer gives a
  report; none gives none; several, or one that does not parse, give none too
  (grpc-go ``orca/internal/internal.go``, ``ToLoadReport``, which returns an
  error the channel only logs) (RPC-6).
* Out of band: ``xds.service.orca.v3.OpenRcaService/StreamCoreMetrics`` sends a
  report every ``report_interval`` on a READY subchannel (gRFC A51; grpc-go
  ``orca/producer.go``).  A server that answers UNIMPLEMENTED is not asked again
  on that connection; other failures are retried with backoff.

The xds protobuf classes come from the ``xds-protos`` package, which ships no
type information: they are typed ``Any`` here and converted at once into the
spec's validated :class:`~spec.types.OrcaLoadReport`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from typing import Any

import grpc
from xds.data.orca.v3 import orca_load_report_pb2
from xds.service.orca.v3 import orca_pb2

from spec.types import Duration, OrcaLoadReport

_LOG = logging.getLogger(__name__)

TRAILER_KEY = "endpoint-load-metrics-bin"
OOB_METHOD = "/xds.service.orca.v3.OpenRcaService/StreamCoreMetrics"

_FIELDS = (
    "cpu_utilization",
    "application_utilization",
    "mem_utilization",
    "rps_fractional",
    "eps",
)


def from_proto(message: Any) -> OrcaLoadReport | None:
    """The spec's report from an xds ``OrcaLoadReport``; None when a field is not a number >= 0."""
    values = {name: float(getattr(message, name)) for name in _FIELDS}
    if any(not math.isfinite(v) or v < 0 for v in values.values()):
        _LOG.warning("ignoring an ORCA report with a negative or non-finite field: %s", values)
        return None
    return OrcaLoadReport(**values)


def to_proto(report: OrcaLoadReport) -> Any:
    """An xds ``OrcaLoadReport`` carrying ``report``'s fields (for test backends)."""
    return orca_load_report_pb2.OrcaLoadReport(**{name: getattr(report, name) for name in _FIELDS})


def encode(report: OrcaLoadReport) -> bytes:
    """The trailer value for ``report``."""
    data: bytes = to_proto(report).SerializeToString()
    return data


def decode(data: bytes) -> OrcaLoadReport | None:
    """Parse one trailer value; None when it is not an OrcaLoadReport."""
    try:
        message = orca_load_report_pb2.OrcaLoadReport.FromString(data)
    except Exception:  # protobuf raises DecodeError, a plain Exception subclass
        _LOG.warning("ignoring an unparsable %s trailer", TRAILER_KEY)
        return None
    return from_proto(message)


def load_report_from_trailers(
    trailers: Iterable[tuple[str, str | bytes]] | None,
) -> OrcaLoadReport | None:
    """The per-call report in ``trailers``: exactly one valid trailer, else None (RPC-6)."""
    values = [v for k, v in trailers or () if k.lower() == TRAILER_KEY]
    if len(values) != 1:
        if values:
            _LOG.warning("ignoring %d %s trailers: one is allowed", len(values), TRAILER_KEY)
        return None
    value = values[0]
    return decode(value if isinstance(value, bytes) else value.encode("latin-1"))


def oob_request(interval: Duration) -> Any:
    """The StreamCoreMetrics request asking for a report every ``interval``."""
    request = orca_pb2.OrcaLoadReportRequest()
    request.report_interval.FromNanoseconds(interval.nanos)
    return request


def open_oob_stream(channel: grpc.Channel, interval: Duration) -> Iterator[Any]:
    """Start StreamCoreMetrics on ``channel``; yields xds ``OrcaLoadReport`` messages."""
    call = channel.unary_stream(
        OOB_METHOD,
        request_serializer=orca_pb2.OrcaLoadReportRequest.SerializeToString,
        response_deserializer=orca_load_report_pb2.OrcaLoadReport.FromString,
    )
    return call(oob_request(interval), wait_for_ready=False)


def oob_request_from_bytes(data: bytes) -> Any:
    """Parse a StreamCoreMetrics request (servers)."""
    return orca_pb2.OrcaLoadReportRequest.FromString(data)


def serialize_message(message: Any) -> bytes:
    """Serialise any protobuf message (servers)."""
    data: bytes = message.SerializeToString()
    return data


def oob_interval_from_request(request: Any) -> float:
    """The report interval a StreamCoreMetrics request asks for, in seconds (servers)."""
    seconds: float = request.report_interval.ToNanoseconds() / 1e9
    return seconds
