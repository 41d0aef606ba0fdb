"""How the runner talks to an adapter: a subprocess over JSON lines, or a handler in-process.

A :class:`Transport` sends one JSON object and waits for one JSON object back.
Every way an adapter can break that -- it exits, it is silent past the
timeout, it writes a line that is not a JSON object -- raises
:class:`~conformance.errors.AdapterError` with the tail of its stderr, and the
transport is dead afterwards: the runner starts a fresh one for the next case
(CONF-3).
"""

from __future__ import annotations

import abc
import collections
import contextlib
import io
import json
import os
import select
import shlex
import signal
import subprocess
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import IO

from conformance import wire
from conformance.errors import AdapterError, AdapterFault

STDERR_TAIL_LINES = 40


class Transport(abc.ABC):
    """One adapter connection.

    ``request`` is one exchange.  ``submit`` and ``collect`` are the same exchange in
    two halves, so that the runner can do other work while the adapter answers (the
    runner keeps at most one request in flight).  By default ``submit`` only keeps the
    message and ``collect`` makes the whole exchange, so a transport that overrides
    ``request`` alone behaves exactly as before.
    """

    _submitted: wire.JsonObject | None = None

    @abc.abstractmethod
    def request(self, message: wire.JsonObject, timeout: float) -> wire.JsonObject:
        """Send ``message`` and return the adapter's one reply."""

    def submit(self, message: wire.JsonObject) -> None:
        """Start an exchange: ``message`` is (or will be) sent; :meth:`collect` gets the reply."""
        self._submitted = message

    def collect(self, timeout: float) -> wire.JsonObject:
        """The reply to the message last given to :meth:`submit`."""
        message, self._submitted = self._submitted, None
        assert message is not None, "collect() without submit()"
        return self.request(message, timeout)

    @abc.abstractmethod
    def send(self, message: wire.JsonObject) -> None:
        """Send ``message`` expecting no reply (``stop``)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the adapter; safe to call twice."""

    @abc.abstractmethod
    def stderr_tail(self) -> str:
        """The last lines the adapter wrote to stderr."""


READ_SIZE = 1 << 16


class SubprocessTransport(Transport):
    """An adapter process started from a command line (split like a POSIX shell).

    Replies are read on the calling thread: ``poll`` on the adapter's stdout with the
    step timeout, then ``os.read`` into a buffer that is split at newlines.  A reader
    thread handing lines over through a queue cost about a thread switch per reply,
    as much again as the pipe itself (bench/NOTES.md).  Only stderr has a thread: it
    must be drained at all times, or an adapter that writes a lot there would block.
    """

    def __init__(self, command: str | Sequence[str], *, cwd: str | None = None) -> None:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not argv:
            raise ValueError("the adapter command is empty")
        self.argv = argv
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                bufsize=0,  # unbuffered binary pipes: we write and read the fds ourselves
                start_new_session=True,  # so a hang can be ended with its children
            )
        except OSError as err:
            raise AdapterError(AdapterFault.CRASHED, f"cannot start {argv[0]!r}: {err}") from None
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        assert self._proc.stderr is not None
        self._stdin = self._proc.stdin.fileno()
        self._stdout = self._proc.stdout.fileno()
        self._poller = select.poll()
        self._poller.register(self._stdout, select.POLLIN)
        self._buffer = bytearray()  # stdout read so far, not yet returned as lines
        self._eof = False
        self._sent_type: wire.JsonValue = None  # of the request awaiting its reply
        self._deadline_base = 0.0  # when that request was sent
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        # Text decoding as before: UTF-8 with replacement, universal newlines.
        stderr = io.TextIOWrapper(self._proc.stderr, encoding="utf-8", errors="replace")
        self._stderr_reader = threading.Thread(target=self._pump, args=(stderr,), daemon=True)
        self._stderr_reader.start()
        self._dead = False

    def _pump(self, stream: IO[str]) -> None:
        with contextlib.suppress(ValueError, OSError):
            for line in stream:
                self._stderr.append(line.rstrip("\n"))

    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    def _fail(self, fault: AdapterFault, detail: str) -> AdapterError:
        self._kill()
        self._stderr_reader.join(timeout=1.0)  # let the stderr tail arrive
        return AdapterError(fault, detail, self.stderr_tail())

    def send(self, message: wire.JsonObject) -> None:
        if self._dead:
            raise AdapterError(AdapterFault.CRASHED, "the adapter was already stopped")
        data = memoryview((json.dumps(message, separators=(",", ":")) + "\n").encode())
        try:
            while data:
                data = data[os.write(self._stdin, data) :]
        except OSError:  # BrokenPipeError: it exited; EBADF: its pipes were closed
            raise self._fail(AdapterFault.CRASHED, self._exit_text("before reading")) from None

    def submit(self, message: wire.JsonObject) -> None:
        self.send(message)
        self._sent_type = message.get("type")
        self._deadline_base = time.monotonic()

    def collect(self, timeout: float) -> wire.JsonObject:
        # The timeout counts from the moment the request was sent.
        deadline = self._deadline_base + timeout
        line = self._read_line(deadline)
        if line is None:
            raise self._fail(
                AdapterFault.TIMED_OUT,
                f"no reply to {self._sent_type!r} within {timeout:g} s",
            )
        if not line:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=1.0)
            raise self._fail(AdapterFault.CRASHED, self._exit_text("before replying"))
        text = line.decode("utf-8", errors="replace")
        try:
            reply = json.loads(text)
        except json.JSONDecodeError as err:
            raise self._fail(
                AdapterFault.MALFORMED, f"not a JSON line ({err.msg}): {text.strip()[:200]!r}"
            ) from None
        if not isinstance(reply, dict):
            raise self._fail(AdapterFault.MALFORMED, f"not a JSON object: {text.strip()[:200]!r}")
        return reply

    def request(self, message: wire.JsonObject, timeout: float) -> wire.JsonObject:
        self.submit(message)
        return self.collect(timeout)

    def _read_line(self, deadline: float) -> bytes | None:
        """The next stdout line (with its newline; the last one may lack it); ``b""`` once
        stdout is closed, ``None`` when nothing arrives before ``deadline``."""
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line
            if self._eof or self._dead:
                line = bytes(self._buffer)  # a last line without a newline, as before
                self._buffer.clear()
                return line
            # poll, not a blocking read, so that a silent adapter times out (CONF-3);
            # a reply already waiting is found even when the deadline has passed.
            remaining_ms = max(0.0, (deadline - time.monotonic()) * 1000.0)
            if not self._poller.poll(remaining_ms):
                return None
            try:
                chunk = os.read(self._stdout, READ_SIZE)
            except OSError:
                chunk = b""
            if chunk:
                self._buffer += chunk
            else:
                self._eof = True

    def _exit_text(self, when: str) -> str:
        code = self._proc.poll()
        if code is None:
            return f"the adapter closed its stdout {when}"
        if code < 0:
            return f"the adapter was killed by signal {-code} {when}"
        return f"the adapter exited with status {code} {when}"

    def _kill(self) -> None:
        self._dead = True
        if self._proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signal.SIGKILL)  # the group we started
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=2.0)
        with contextlib.suppress(KeyError, ValueError):
            self._poller.unregister(self._stdout)
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            with contextlib.suppress(OSError, ValueError):
                if stream is not None:
                    stream.close()

    def close(self) -> None:
        if self._dead:
            return
        with contextlib.suppress(AdapterError):
            self.send({"type": "stop"})
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=1.0)
        self._kill()
        self._stderr_reader.join(timeout=1.0)  # the stderr tail is complete once the pipes close


Handler = Callable[[wire.JsonObject], wire.JsonObject | None]


class InProcessTransport(Transport):
    """An adapter that is a Python callable; messages still round-trip through JSON text.

    There is no process to time out: a handler that hangs hangs the runner.
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._errors: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)

    def _call(self, message: wire.JsonObject) -> wire.JsonObject | None:
        try:
            reply = self._handler(json.loads(json.dumps(message)))
            return None if reply is None else json.loads(json.dumps(reply))
        except Exception as err:
            self._errors.extend(traceback.format_exc().splitlines())
            raise AdapterError(
                AdapterFault.CRASHED, f"the handler raised {err!r}", self.stderr_tail()
            ) from err

    def request(self, message: wire.JsonObject, timeout: float) -> wire.JsonObject:
        reply = self._call(message)
        if not isinstance(reply, dict):
            raise AdapterError(AdapterFault.MALFORMED, f"the handler returned {reply!r}")
        return reply

    def send(self, message: wire.JsonObject) -> None:
        self._call(message)

    def close(self) -> None:
        with contextlib.suppress(AdapterError):
            self.send({"type": "stop"})

    def stderr_tail(self) -> str:
        return "\n".join(self._errors)
