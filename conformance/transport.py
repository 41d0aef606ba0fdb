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
import json
import os
import queue
import shlex
import signal
import subprocess
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import IO

from conformance import wire
from conformance.errors import AdapterError, AdapterFault

STDERR_TAIL_LINES = 40


class Transport(abc.ABC):
    """One adapter connection."""

    @abc.abstractmethod
    def request(self, message: wire.JsonObject, timeout: float) -> wire.JsonObject:
        """Send ``message`` and return the adapter's one reply."""

    @abc.abstractmethod
    def send(self, message: wire.JsonObject) -> None:
        """Send ``message`` expecting no reply (``stop``)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the adapter; safe to call twice."""

    @abc.abstractmethod
    def stderr_tail(self) -> str:
        """The last lines the adapter wrote to stderr."""


class SubprocessTransport(Transport):
    """An adapter process started from a command line (split like a POSIX shell)."""

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
                text=True,
                encoding="utf-8",
                errors="replace",
                bufsize=1,
                start_new_session=True,  # so a hang can be ended with its children
            )
        except OSError as err:
            raise AdapterError(AdapterFault.CRASHED, f"cannot start {argv[0]!r}: {err}") from None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        assert self._proc.stdout is not None
        assert self._proc.stderr is not None
        self._readers = [
            threading.Thread(target=self._pump, args=(self._proc.stdout, True), daemon=True),
            threading.Thread(target=self._pump, args=(self._proc.stderr, False), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        self._dead = False

    def _pump(self, stream: IO[str], is_stdout: bool) -> None:
        with contextlib.suppress(ValueError, OSError):
            for line in stream:
                if is_stdout:
                    self._lines.put(line)
                else:
                    self._stderr.append(line.rstrip("\n"))
        if is_stdout:
            self._lines.put(None)

    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    def _fail(self, fault: AdapterFault, detail: str) -> AdapterError:
        self._kill()
        for reader in self._readers:
            reader.join(timeout=1.0)  # let the stderr tail arrive
        return AdapterError(fault, detail, self.stderr_tail())

    def send(self, message: wire.JsonObject) -> None:
        if self._dead:
            raise AdapterError(AdapterFault.CRASHED, "the adapter was already stopped")
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(message, separators=(",", ":")) + "\n")
            stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise self._fail(AdapterFault.CRASHED, self._exit_text("before reading")) from None

    def request(self, message: wire.JsonObject, timeout: float) -> wire.JsonObject:
        self.send(message)
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise self._fail(
                AdapterFault.TIMED_OUT,
                f"no reply to {message.get('type')!r} within {timeout:g} s",
            ) from None
        if line is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=1.0)
            raise self._fail(AdapterFault.CRASHED, self._exit_text("before replying"))
        try:
            reply = json.loads(line)
        except json.JSONDecodeError as err:
            raise self._fail(
                AdapterFault.MALFORMED, f"not a JSON line ({err.msg}): {line.strip()[:200]!r}"
            ) from None
        if not isinstance(reply, dict):
            raise self._fail(AdapterFault.MALFORMED, f"not a JSON object: {line.strip()[:200]!r}")
        return reply

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
        for reader in self._readers:
            reader.join(timeout=1.0)  # the stderr tail is complete once the pipes close


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
