"""Adapters that attach an implementation to the conformance runner.

* :mod:`conformance.adapters.refimpl` -- the reference implementation as a
  subprocess speaking protocol v1 (``python -m conformance.adapters.refimpl``):
  the worked example of attaching another implementation.
* :mod:`conformance.adapters.inprocess` -- the same adapter called in-process.

These are the only modules of ``conformance`` that import ``refimpl``.
"""
