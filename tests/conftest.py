"""Shared test settings: the Hypothesis profiles.

Choose one with ``HYPOTHESIS_PROFILE`` (``default`` when unset):

* ``default`` -- what ``make check`` and the edit-test loop run: 100 examples per
  property, and per state-machine test 100 runs of the machine's
  ``stateful_step_count`` steps (50 for pick_first, 60 for the others, set on each
  ``Machine.TestCase``).  Strong enough, and checked to be: the state machines find
  every bug planted in tests/stateful/test_machines_find_planted_bugs.py under this
  profile (the least_request that draws one sample fewer among them; the old default
  of 60 examples, with machines whose rules mostly did nothing, missed it on 10 of 10
  seeds).  The whole of ``make check`` stays within a few minutes on two cores.
* ``ci`` -- thorough: 500 examples, and the blob to reproduce a failure printed;
  ``.ci/run`` selects it.

Both keep Hypothesis's random seed and its example database: each run of the suite
tries new inputs, and a failure found once is tried first the next time.  That is not
a source of flakiness: a correct policy never fails a rule, and the statistical rules
(LR-10, WRR-16) bound their false alarms (1e-9 per statistic, spec/monitors).  The tests
that claim what a profile finds, or how often rules take effect, fix their own seed so
that the claim is checked the same way every time.

No health check is suppressed; ``deadline=None`` because one step of a stateful test
may feed the policy hundreds of inputs, and speed is measured in bench/, not asserted.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("default", max_examples=100, deadline=None)
settings.register_profile("ci", max_examples=500, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
