"""Every committed expectations file is well-formed and names only real cases (CONF-6).

The grpc-go file is read by `make conformance-grpc-go`, which needs Go, and the
two grpc-java files by `make conformance-grpc-java`, which needs Java and Maven;
this test keeps them honest in `make check`, which needs neither.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cases import load_cases
from conformance.results import load_expectations

EXPECTATIONS = Path(__file__).resolve().parents[2] / "conformance" / "expectations"


@pytest.mark.req("CONF-6")
@pytest.mark.parametrize("name", sorted(p.name for p in EXPECTATIONS.glob("*.json")))
def test_expectations_file_is_valid_and_current(name: str) -> None:
    expectations = load_expectations(EXPECTATIONS / name)
    expectations.check_cases(load_cases())  # raises, naming stale entries
    for known in expectations.known.values():
        assert known.reason.strip()
        assert known.link.startswith("https://")
