"""A deliberately broken protocol-v1 adapter, for the runner's self-tests.

``python tests/conformance/broken_adapter.py MODE`` behaves like the refimpl
adapter (with the test policies loaded) except for one fault:

* ``crash`` -- exits with status 3 on the first step of a case whose ID contains "crash";
* ``hang`` -- never answers the first step of a case whose ID contains "hang";
* ``malformed`` -- answers every step with a line that is not JSON;
* ``wrong-version`` -- claims protocol 2 in its handshake;
* ``drop-shutdowns`` -- leaves every shutdown out of its outputs (a wrong-output bug);
* ``ghost-handle`` -- reports a connect on a handle it never announced;
* ``renamed-handles`` -- correct, but names subchannels by integers counting down from 10000;
* ``error-on-pick`` -- answers every pick step with an error message;
* ``real-time`` -- no fault, but claims real time and sleeps through each ``advance_time``;
* ``ok`` -- no fault.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import tests.conformance.policies  # noqa: F401  (registers the test policies)
from conformance import protocol
from conformance.adapters.refimpl import RefimplAdapter


def _rename(value: Any, mapping: dict[Any, Any]) -> Any:
    if isinstance(value, dict):
        return {
            k: _rename(v, mapping) if k != "subchannel" else mapping.get(v, v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rename(v, mapping) for v in value]
    return value


def main(mode: str) -> int:
    adapter = RefimplAdapter()
    case_id = ""
    renamed: dict[str, int] = {}  # refimpl handle -> our integer handle
    for line in sys.stdin:
        message = json.loads(line)
        kind = message.get("type")
        if kind == "begin":
            case_id = str(message.get("case"))
        if kind == "step" and "crash" in case_id and mode == "crash":
            print("boom: deliberate crash in the adapter", file=sys.stderr, flush=True)
            return 3
        if kind == "step" and "hang" in case_id and mode == "hang":
            print("about to hang", file=sys.stderr, flush=True)
            time.sleep(3600)
        if kind == "step" and mode == "malformed":
            sys.stdout.write("this is not json\n")
            sys.stdout.flush()
            continue
        if kind == "step" and mode == "error-on-pick" and message["input"]["type"] == "pick":
            reply: Any = protocol.error_message("picks are not supported", message["seq"])
        else:
            if mode == "renamed-handles":
                back = {v: k for k, v in renamed.items()}
                message = _rename(message, back)
            reply = adapter.handle(message)
        if reply is None:
            return 0
        if kind == "start" and mode == "wrong-version":
            reply["protocol"] = 2
        if kind == "start" and mode == "real-time":
            reply["capabilities"]["time"] = "real"
        if kind == "step" and mode == "real-time" and message["input"]["type"] == "advance_time":
            time.sleep(float(message["input"]["by"].rstrip("s")))
        if kind == "step" and reply.get("type") == "outputs":
            outputs = reply["outputs"]
            if mode == "drop-shutdowns":
                outputs = [o for o in outputs if o["type"] != "shutdown"]
            if mode == "ghost-handle":
                outputs = [*outputs, {"type": "connect", "subchannel": "ghost"}] if outputs else []
            if mode == "renamed-handles":
                for o in outputs:
                    if o["type"] == "new_subchannel":
                        renamed[o["subchannel"]] = 10_000 - len(renamed)
                outputs = _rename(outputs, renamed)
            reply["outputs"] = outputs
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
