"""Monitors: judges of traces, one module per policy, written from the spec alone.

A monitor never imports refimpl; it reads (input, outputs) steps and returns
violations naming requirement IDs.  :class:`spec.monitors.boundary.BoundaryMonitor`
holds the rules every policy obeys; the per-policy monitors add their own.
"""
