"""How the runner talks to an adapter: a subprocess over JSON lines, or a handler in-process.

A :class:`Transport` sends JSON objects and reads one JSON object back for each,
in order.  Every way an adapter can break that -- it exits, it is silent past
the timeout, it writes a line that is not a JSON object -- raises
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

import attrs

from conformance import wire
from conformance.errors import AdapterError, AdapterFault, WireError

STDERR_TAIL_LINES = 40


class Transport(abc.ABC):
    """One adapter connection.

    ``request`` is one exchange.  ``submit`` and ``collect`` are exchanges in two
    halves: requests are submitted in order and their replies collected in the same
    order, so that the runner can work (and the adapter can start on the next
    request) before a reply is read.  By default ``submit`` only queues the message
    and ``collect`` makes the whole exchange then, so a transport that implements
    ``request`` alone works unchanged.
    """

    _queued: collections.deque[wire.JsonObject] | None = None  # submitted, for collect()

    @abc.abstractmethod
    def request(self, message: wire.JsonObject, timeout: float) -> wire.JsonObject:
        """Send ``message`` and return the adapter's one reply."""

    def submit(self, message: wire.JsonObject) -> None:
        """Send ``message`` (now, or at the latest when :meth:`collect` reaches it)."""
        if self._queued is None:
            self._queued = collections.deque()
        self._queued.append(message)

    def collect(self, timeout: float) -> wire.JsonObject:
        """The reply to the oldest submitted message not yet collected."""
        assert self._queued, "collect() without a submitted message"
        return self.request(self._queued.popleft(), timeout)

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
# How long a write may make no progress (the adapter neither reads its input nor writes
# replies) before the adapter counts as hung, for writes outside a step (``send``).
WRITE_STALL_TIMEOUT = 5.0


class _WriteStalledError(Exception):
    """The adapter stopped reading its input: a write made no progress for its timeout."""


@attrs.define
class _Sent:
    """A submitted request whose reply has not been read yet."""

    kind: wire.JsonValue  # its "type", for messages
    written: float | None = None  # time.monotonic() when written; None while held back
    # Why it could not be written (the adapter is gone, or stopped reading): reported
    # when its reply is collected, after the replies before it.
    failed: tuple[AdapterFault, str] | None = None


class SubprocessTransport(Transport):
    """An adapter process started from a command line (split like a POSIX shell).

    Replies are read on the calling thread: ``poll`` on the adapter's stdout with the
    step timeout, then ``os.read`` into a buffer that is split at newlines.  (A reader
    thread handing lines over through a queue cost a thread switch per reply, about
    as much as the pipe itself, bench/NOTES.md.)  Only stderr has a thread: it must
    be drained at all times, or an adapter that writes a lot there would block.

    Writing never waits on a full stdin pipe without reading stdout meanwhile: with
    several requests in flight the adapter may itself be blocked writing replies.
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
        os.set_blocking(self._stdin, False)  # see _write
        self._readable = select.poll()
        self._readable.register(self._stdout, select.POLLIN)
        self._buffer = bytearray()  # stdout read so far, not yet returned as lines
        self._eof = False
        self._sent: collections.deque[_Sent] = collections.deque()
        self._held: list[_Sent] = []  # submitted, not written yet (their bytes: _unwritten)
        self._unwritten = bytearray()
        self._last_reply = 0.0  # when the last reply was read
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        # Decoded as stdout used to be: UTF-8 with replacement, universal newlines.
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

    @staticmethod
    def _encode(message: wire.JsonObject) -> bytes:
        return (json.dumps(message, separators=(",", ":")) + "\n").encode()

    def _write(self, data: bytes | bytearray, stall_timeout: float) -> None:
        """Write all of ``data``; raises OSError when the adapter's stdin is gone, and
        _WriteStalledError when for ``stall_timeout`` seconds it neither read nor wrote (CONF-3).

        stdin is non-blocking: when the pipe is full, wait for room with ``poll`` and
        meanwhile read whatever stdout holds into the buffer, so that an adapter blocked
        on writing its replies can go on (no deadlock, however many requests are in flight).
        """
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._stdin, view) :]
                continue
            except BlockingIOError:
                pass
            poller = select.poll()
            poller.register(self._stdin, select.POLLOUT)
            if not self._eof:
                poller.register(self._stdout, select.POLLIN)
            ready = poller.poll(stall_timeout * 1000.0)
            if not ready:
                unread = len(view)
                raise _WriteStalledError(
                    f"the adapter stopped reading its input ({unread} bytes unread"
                )
            for fd, _ in ready:
                if fd == self._stdout:
                    self._fill()

    def send(self, message: wire.JsonObject) -> None:
        if self._dead:
            raise AdapterError(AdapterFault.CRASHED, "the adapter was already stopped")
        self._flush(WRITE_STALL_TIMEOUT)
        try:
            self._write(self._encode(message), WRITE_STALL_TIMEOUT)
        except OSError:  # BrokenPipeError: it exited; EBADF: its pipes were closed
            raise self._fail(AdapterFault.CRASHED, self._exit_text("before reading")) from None
        except _WriteStalledError as stalled:
            detail = f"{stalled} after {WRITE_STALL_TIMEOUT:g} s)"
            raise self._fail(AdapterFault.TIMED_OUT, detail) from None

    def submit(self, message: wire.JsonObject) -> None:
        """Queue ``message``; it is written before the runner next waits for a reply.

        So requests submitted back to back (picks sent ahead) reach the adapter in one
        write, which wakes it once instead of once per request.
        """
        if self._dead:
            raise AdapterError(AdapterFault.CRASHED, "the adapter was already stopped")
        sent = _Sent(message.get("type"))
        self._unwritten += self._encode(message)
        self._held.append(sent)
        self._sent.append(sent)

    def _flush(self, stall_timeout: float) -> None:
        """Write the held requests.  A failure is reported when their replies are collected,
        after the replies before them: those may still be waiting in the pipe, and came first."""
        if not self._held:
            return
        # Take the buffer before writing: an interrupt mid-write (Ctrl-C) leaves a
        # memoryview of it alive in the traceback, and a bytearray with a live view
        # cannot be cleared.
        unwritten, self._unwritten = bytes(self._unwritten), bytearray()
        held, self._held = self._held, []
        failed: tuple[AdapterFault, str] | None = None
        try:
            self._write(unwritten, stall_timeout)
        except OSError:
            failed = (AdapterFault.CRASHED, self._exit_text("before reading"))
        except _WriteStalledError as stalled:
            failed = (AdapterFault.TIMED_OUT, f"{stalled} after {stall_timeout:g} s)")
        if failed is not None:
            for sent in held:
                sent.failed = failed
        now = time.monotonic()
        for sent in held:
            sent.written = now

    def collect(self, timeout: float) -> wire.JsonObject:
        assert self._sent, "collect() without a submitted message"
        if self._buffer.find(b"\n") < 0:
            self._flush(timeout)  # about to wait: the adapter must have everything first
        sent = self._sent.popleft()
        if sent.failed is not None:
            raise self._fail(*sent.failed)
        # The adapter answers in order: its time for this request starts when it was
        # written or when the reply before it was read, whichever is later (CONF-3).
        deadline = max(sent.written or time.monotonic(), self._last_reply) + timeout
        line = self._read_line(deadline)
        if line is None:
            raise self._fail(
                AdapterFault.TIMED_OUT, f"no reply to {sent.kind!r} within {timeout:g} s"
            )
        if not line:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=1.0)
            raise self._fail(AdapterFault.CRASHED, self._exit_text("before replying"))
        self._last_reply = time.monotonic()
        text = line.decode("utf-8", errors="replace")
        try:
            reply = wire.parse_json(text)
        except WireError as err:
            raise self._fail(
                AdapterFault.MALFORMED, f"not a JSON line ({err.problem}): {text.strip()[:200]!r}"
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
            if self._eof:
                line = bytes(self._buffer)  # a last line without a newline, as before
                self._buffer.clear()
                return line
            # poll, not a blocking read, so that a silent adapter times out (CONF-3);
            # a reply already waiting is found even when the deadline has passed.
            timeout_ms = max(0.0, (deadline - time.monotonic()) * 1000.0)
            if not self._readable.poll(timeout_ms):
                return None
            self._fill()

    def _fill(self) -> None:
        """Append what stdout holds to the buffer (call only when it is readable)."""
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
        self._eof = True
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

    @property
    def handler(self) -> Handler:
        """The callable that answers (explore reads the reference's state through it)."""
        return self._handler

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
