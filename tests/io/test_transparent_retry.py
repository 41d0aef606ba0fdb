"""BalancedChannel never runs an RPC twice: it re-sends only what provably never left the
client (RPC-7, gRFC A6 "Transparent Retries").  Issue 16: with backends killed under
load, the servers ran 40 calls for 36 successes -- RPCs cut off mid-flight were sent again.

Each test starts its own counting servers on 127.0.0.1; every wait is bounded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from refimpl.io.backend import WHOAMI
from refimpl.io.balanced_channel import _never_sent
from tests.io.conftest import RPC_TIMEOUT, MakeChannel, eventually

ROUND_ROBIN: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}]}
RPCS = 12


class CountingServer:
    """A server that counts the calls its application saw; while ``hold`` is set it keeps
    each call open until the server is stopped (a stop then cuts off calls it ran)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.hold = False
        self.calls = 0
        self.held = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=RPCS + 4))
        handler: Any = grpc.unary_unary_rpc_method_handler(self._whoami)
        service = grpc.method_handlers_generic_handler(
            WHOAMI.split("/")[1], {WHOAMI.split("/")[2]: handler}
        )
        self._server.add_generic_rpc_handlers((service,))
        self.address = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"
        self._server.start()

    def _whoami(self, _request: bytes, _context: grpc.ServicerContext) -> bytes:
        with self._lock:
            self.calls += 1
            hold = self.hold
            self.held += hold
        if hold:
            self._release.wait(RPC_TIMEOUT)
        return self.name.encode()

    def stop(self) -> None:
        self._server.stop(0).wait(RPC_TIMEOUT)  # cancels the calls it holds
        self._release.set()


@pytest.fixture
def servers() -> Iterator[list[CountingServer]]:
    made = [CountingServer("a"), CountingServer("b")]
    yield made
    for server in made:
        server.stop()


@pytest.mark.req("RPC-7")
def test_rpcs_cut_off_by_a_killed_backend_are_not_run_again(
    servers: list[CountingServer], channel: MakeChannel
) -> None:
    a, b = servers
    ch = channel([a.address, b.address], ROUND_ROBIN)
    call = ch.unary_unary(WHOAMI)
    seen: set[bytes] = set()

    def both_answered() -> bool:
        seen.add(call(b"", timeout=RPC_TIMEOUT, wait_for_ready=True))
        return seen == {b"a", b"b"}

    assert eventually(both_answered)
    a.hold = True  # both subchannels READY: from now on a holds what it gets
    b.calls = 0
    answers: list[bytes] = []
    failures: list[grpc.RpcError] = []

    def send() -> None:
        try:
            answers.append(call(b"", timeout=RPC_TIMEOUT, wait_for_ready=True))
        except grpc.RpcError as err:
            failures.append(err)

    senders = [threading.Thread(target=send) for _ in range(RPCS)]
    for sender in senders:
        sender.start()
    # round_robin sends every other RPC to a, which holds them: they have run there.
    assert eventually(lambda: a.held + b.calls == RPCS)
    cut_off = a.held
    assert cut_off > 0  # the kill below hits RPCs in flight: the test is not vacuous
    a.stop()
    for sender in senders:
        sender.join(RPC_TIMEOUT + 1)
    assert not any(sender.is_alive() for sender in senders)
    # Each RPC ran on a server exactly once: none of those cut off was sent again.
    assert a.held + b.calls == RPCS
    assert len(failures) == cut_off
    assert {f.code() for f in failures} == {grpc.StatusCode.UNAVAILABLE}
    assert answers == [b"b"] * (RPCS - cut_off)


@pytest.mark.req("RPC-7")
def test_only_an_attempt_that_never_left_the_client_counts_as_never_sent(
    servers: list[CountingServer],
) -> None:
    a, _ = servers
    a.hold = True
    with grpc.insecure_channel(a.address) as plain:
        whoami: Any = plain.unary_unary(WHOAMI)
        cut: list[grpc.RpcError] = []

        def send() -> None:
            try:
                whoami(b"", timeout=RPC_TIMEOUT)
            except grpc.RpcError as err:
                cut.append(err)

        sender = threading.Thread(target=send)
        sender.start()
        assert eventually(lambda: a.held == 1)
        a.stop()
        sender.join(RPC_TIMEOUT + 1)
        (reached,) = cut
        assert reached.code() is grpc.StatusCode.UNAVAILABLE  # as a never-sent RPC's...
        assert not _never_sent(reached)  # ...but it ran on the server
        # The server is gone: a fail-fast RPC now fails in the channel's own pick.
        with pytest.raises(grpc.RpcError) as refused:
            whoami(b"", timeout=RPC_TIMEOUT)
        assert _never_sent(refused.value)
