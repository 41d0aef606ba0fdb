"""Imports every built-in policy module, each of which registers its builder.

The registry loads this module on first lookup, so ``registry.get("pick_first")``
works without the caller importing the policy.  Add one import per policy.
"""

from __future__ import annotations

import refimpl.least_request
import refimpl.pick_first
import refimpl.round_robin
import refimpl.weighted_round_robin  # noqa: F401
