"""The language-neutral conformance suite for gRPC client-side load balancing.

Cases are JSON files under ``conformance/cases/<area>/``; any implementation is
attached through an adapter speaking protocol v1 (JSON lines, see
``conformance/PROTOCOL.md``); ``python -m conformance run --adapter COMMAND``
runs them and the spec's monitors judge every trace.
"""
