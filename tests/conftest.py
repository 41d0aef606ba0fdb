"""Shared test settings.

Hypothesis profiles (choose with HYPOTHESIS_PROFILE, default ``default``):

* ``default`` -- fast, for the edit-test loop.
* ``ci`` -- thorough; ``.ci/run`` selects it.

Neither suppresses a health check wholesale; stateful tests set
``deadline=None`` themselves because one step may do real work.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("default", max_examples=60, deadline=None)
settings.register_profile("ci", max_examples=500, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
