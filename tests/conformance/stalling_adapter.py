"""A protocol-v1 adapter that stalls, for the runner's "no lost minutes" tests (issue 16).

``python tests/conformance/stalling_adapter.py MODE``:

* ``silent`` -- reads its input and never answers, not even the handshake;
* ``hang-steps`` -- shakes hands and begins cases like the refimpl adapter, then never
  answers a step;
* ``slow`` -- the refimpl adapter, sleeping 50 ms before each step's reply (for SIGINT).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import tests.conformance.policies  # noqa: F401  (registers the test policies)
from conformance.adapters.refimpl import RefimplAdapter


def main(mode: str) -> int:
    adapter = RefimplAdapter()
    for line in sys.stdin:
        message = json.loads(line)
        if mode == "silent" or (mode == "hang-steps" and message["type"] == "step"):
            continue  # never answer
        if mode == "slow" and message["type"] == "step":
            time.sleep(0.05)
        reply = adapter.handle(message)
        if reply is None:
            return 0
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
