"""The requirement catalogue: every numbered rule the spec states, with its source.

Each area lives in a module of its own (connectivity, pick_first, ...);
:data:`CATALOGUE` gathers them and checks that IDs are unique.
``docs/requirements.md`` is generated from it and from the code that cites it
(``make diagrams``; conformance/requirement_index.py, outside spec/ because it
reads refimpl, the cases and the tests).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from spec.catalogue import (
    boundary,
    conformance,
    connectivity,
    health,
    health_check,
    least_request,
    pick_first,
    round_robin,
    rpc,
    service_config,
    weighted_round_robin,
)
from spec.catalogue.audit import AUDIT
from spec.catalogue.model import Level, Requirement, RequirementId
from spec.errors import ModelError

__all__ = ["AREAS", "CATALOGUE", "Level", "Requirement", "RequirementId", "requirement"]


def _index(groups: Iterable[tuple[Requirement, ...]]) -> dict[str, Requirement]:
    index: dict[str, Requirement] = {}
    for group in groups:
        for req in group:
            if req.id in index:
                raise ModelError("catalogue", f"duplicate requirement ID {req.id}")
            index[req.id] = req
    return index


_UNAUDITED: dict[str, Requirement] = _index(
    [
        connectivity.REQUIREMENTS,
        boundary.REQUIREMENTS,
        service_config.REQUIREMENTS,
        rpc.REQUIREMENTS,
        health_check.REQUIREMENTS,
        pick_first.REQUIREMENTS,
        round_robin.REQUIREMENTS,
        health.REQUIREMENTS,
        conformance.REQUIREMENTS,
        weighted_round_robin.REQUIREMENTS,
        least_request.REQUIREMENTS,
    ]
)

CATALOGUE: dict[str, Requirement] = {
    req_id: attrs.evolve(req, checked=AUDIT.get(req_id, ())) for req_id, req in _UNAUDITED.items()
}
for _unknown in sorted(set(AUDIT) - set(CATALOGUE)):
    raise ModelError("catalogue audit", f"audits unknown requirement {_unknown}")

# Area prefix -> what it covers (also the headings of docs/requirements.md).
AREAS: dict[str, str] = {
    "CONN": "Subchannel connectivity",
    "AGG": "Aggregated connectivity state",
    "CHAN": "Channel connectivity state",
    "MODEL": "Models crossing the balancer boundary",
    "LB": "Obligations of every policy at the balancer boundary",
    "REG": "The LB policy registry",
    "SC": "Service config: choosing the LB policy, and invalid configs",
    "GS": "Gracefully switching LB policies",
    "BASE": "The base balancer",
    "RPC": "How the channel carries RPCs through its picker, and their load reports",
    "HC": "The health-checking client: the Health/Watch stream (gRFC A17)",
    "PF": "pick_first",
    "RR": "round_robin",
    "HEALTH": "Client-side health",
    "CONF": "The conformance suite: cases, adapter protocol, runner",
    "WRR": "weighted_round_robin (gRFC A58)",
    "LR": "least_request_experimental (gRFC A48)",
}


def requirement(req_id: str) -> Requirement:
    """Look up a requirement; a typed error names an unknown ID."""
    try:
        return CATALOGUE[req_id]
    except KeyError:
        raise ModelError("requirement", f"no requirement {req_id!r} in the catalogue") from None
