"""Imports every built-in policy module, each of which registers its builder.

The channels import it (refimpl.driver, refimpl.service_config,
refimpl.io.balanced_channel, refimpl.io.blackbox), as grpc-go's clientconn.go
imports pickfirst and roundrobin; the registry itself imports no policy.  Add
one import per policy.
"""

from __future__ import annotations

import refimpl.least_request
import refimpl.pick_first
import refimpl.round_robin
import refimpl.weighted_round_robin  # noqa: F401
