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

grpcio (C core) parses ``endpoint-load-metrics-bin`` for its own policies and
never hands it to the application: its metadata trait for that key is marked
not-for-app, so ``trailing_metadata()`` lacks it even when the server sent it
(seen with grpcio 1.85: any other ``-bin`` trailer comes through).  The
balanced channel therefore also reads the text trailer ``endpoint-load-metrics``
in the three forms Envoy defines for ORCA headers (``source/common/orca/
orca_parser.h``): ``BIN <base64 of the proto>``, ``TEXT name=value, ...`` and
``JSON {...}``; the binary trailer wins when both are visible (RPC-8).  The test
backend sends both.

The xds protobuf classes come from the ``xds-protos`` package, which ships no
type information: they are typed ``Any`` here and converted at once into the
spec's validated :class:`~spec.types.OrcaLoadReport`.
"""

from __future__ import annotations

import base64
import json
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
TEXT_TRAILER_KEY = "endpoint-load-metrics"
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
    """The per-call report in ``trailers``: exactly one valid trailer, else None (RPC-6).

    Without a binary trailer, the text trailer is read instead (RPC-8).
    """
    pairs = list(trailers or ())
    values = [v for k, v in pairs if k.lower() == TRAILER_KEY]
    if not values:
        texts = [v for k, v in pairs if k.lower() == TEXT_TRAILER_KEY]
        if len(texts) > 1:
            _LOG.warning("ignoring %d %s trailers: one is allowed", len(texts), TEXT_TRAILER_KEY)
        if len(texts) != 1:
            return None
        text = texts[0]
        return decode_text(text.decode("latin-1") if isinstance(text, bytes) else text)
    if len(values) != 1:
        _LOG.warning("ignoring %d %s trailers: one is allowed", len(values), TRAILER_KEY)
        return None
    value = values[0]
    return decode(value if isinstance(value, bytes) else value.encode("latin-1"))


def encode_text(report: OrcaLoadReport) -> str:
    """The ``endpoint-load-metrics`` trailer value for ``report``, in the BIN form."""
    return "BIN " + base64.b64encode(encode(report)).decode("ascii")


def decode_text(value: str) -> OrcaLoadReport | None:
    """Parse an ``endpoint-load-metrics`` value: ``BIN ...``, ``TEXT ...`` or ``JSON ...``."""
    form, _, body = value.strip().partition(" ")
    try:
        if form == "BIN":
            return decode(base64.b64decode(body, validate=True))
        if form == "TEXT":
            fields = dict(_text_field(item) for item in body.split(",") if item.strip())
        elif form == "JSON":
            document = json.loads(body)
            if not isinstance(document, dict):
                raise ValueError("not a JSON object")
            fields = {str(k): v for k, v in document.items()}
        else:
            raise ValueError(f"unknown form {form!r}")
        known = {name: float(fields[name]) for name in _FIELDS if name in fields}
    except (ValueError, TypeError) as err:
        _LOG.warning("ignoring an unparsable %s trailer: %s", TEXT_TRAILER_KEY, err)
        return None
    return from_proto(orca_load_report_pb2.OrcaLoadReport(**known))


def _text_field(item: str) -> tuple[str, str]:
    name, sep, value = item.strip().partition("=")
    if not sep:
        raise ValueError(f"expected name=value, got {item.strip()!r}")
    return name.strip(), value.strip()


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
