"""Graceful switch: change the running LB policy without dropping a working picker.

A re-statement of grpc-go ``internal/balancer/gracefulswitch/gracefulswitch.go``
(``Balancer`` and its ``balancerWrapper``); requirement IDs in
``spec/catalogue/service_config.py`` (area GS).

The balancer holds a *current* child policy and at most one *pending* one.

* An update whose :class:`SwitchConfig` names the policy of the latest child
  (pending if there is one, else current) goes to that child in place; another
  name builds a new child (GS-1, GS-2).  The first child becomes current at once;
  later ones become pending, and a new pending replaces (closes) an older
  pending (GS-3).  ``switch_to`` builds a new child even for the same name.
* Resolver updates, resolver errors and ExitIdle go to the latest child only;
  with no child a resolver error reports TRANSIENT_FAILURE (GS-4).
* The current child's state reports are passed up, unless it leaves READY while
  a pending child waits: then the pending one is swapped in (GS-5).  A pending
  child's reports are held back while it is CONNECTING and the current one is
  READY; any other report swaps it in (GS-6).  That is grpc-go's rule; the
  sources differ (spec option service_config.graceful_switch), and ``rule``
  follows the text's, grpc-java's or C-core's and grpc-js's instead when a case
  asks.  A swap reports the pending
  child's last state and picker (CONNECTING with a queueing picker if it never
  reported), makes it current, and closes the old current: its ``close`` runs,
  then every SubConn it created is shut down (GS-7).
* A child that is neither current nor pending is ignored: its state reports,
  its SubConns' state changes and its re-resolution requests are dropped, and it
  may not create SubConns (GS-8).  Only the latest child may ask to re-resolve.
* ``close`` closes both children (GS-9).

Sans-IO note: grpc-go closes the old child on a goroutine, because a swap may
be triggered from inside that child's own ``UpdateState`` call.  Here the close
goes through ``BuildOptions.run_soon``: it runs right after the current call
returns, in the same serialised step.  ``SubConn.shutdown`` is idempotent
(grpc-go ``acBalancerWrapper.Shutdown``), so shutting down a SubConn the child
already shut down is harmless.
"""

from __future__ import annotations

from typing import Any

import attrs

from refimpl.balancer import (
    Balancer,
    BalancerError,
    BalancerState,
    Builder,
    BuildOptions,
    ClientConn,
    ClientConnState,
    FailPicker,
    NewSubConnOptions,
    QueuePicker,
    SubConn,
    SubConnState,
)
from spec.connectivity import State
from spec.options import GracefulSwitchRule
from spec.types import Address, Status


class GracefulSwitchError(BalancerError):
    """A call the graceful switch balancer cannot serve (closed, no child, stale child)."""


@attrs.frozen
class SwitchConfig:
    """The config a graceful switch balancer takes: which child, and the child's own config.

    grpc-go ``gracefulswitch.lbConfig`` (built by ``gracefulswitch.ParseConfig``).
    """

    builder: Builder = attrs.field(eq=False)
    child_config: Any = attrs.field(default=None, eq=False)

    @property
    def name(self) -> str:
        return self.builder.name


class _Child(ClientConn):
    """One child policy and the ClientConn it talks to (grpc-go ``balancerWrapper``)."""

    def __init__(self, gsb: GracefulSwitchBalancer, builder: Builder) -> None:
        self.gsb = gsb
        self.builder = builder
        self.name = builder.name
        self.balancer: Balancer | None = None  # set once builder.build returns
        # Until the child reports, it counts as CONNECTING with a queueing picker (GS-7).
        self.last_state = BalancerState(State.CONNECTING, QueuePicker())
        self.subconns: list[SubConn] = []
        self.closed = False

    # --- the ClientConn the child sees ---

    def new_subconn(self, addresses: tuple[Address, ...], options: NewSubConnOptions) -> SubConn:
        if not self.gsb._in_use(self):  # GS-8
            raise GracefulSwitchError(
                f"policy {self.name!r} created a SubConn after the graceful switch "
                "balancer stopped using it"
            )
        child_listener = options.state_listener

        def listener(state: SubConnState) -> None:
            # GS-8: a SubConn of a child that is no longer in use gets no more updates.
            if self.gsb._in_use(self):
                child_listener(state)

        sc = self.gsb.cc.new_subconn(addresses, attrs.evolve(options, state_listener=listener))
        self.subconns.append(sc)
        return sc

    def update_state(self, state: BalancerState) -> None:
        self.gsb._child_update_state(self, state)

    def resolve_now(self) -> None:
        if self is self.gsb._latest():  # only the newest policy's request counts
            self.gsb.cc.resolve_now()

    # --- lifecycle ---

    def close(self) -> None:
        """Close the child policy, then shut down every SubConn it created (GS-7, GS-9)."""
        if self.closed:
            return
        self.closed = True
        if self.balancer is not None:
            self.balancer.close()
        for sc in self.subconns:
            sc.shutdown()

    def __repr__(self) -> str:
        return f"_Child({self.name!r}, last_state={self.last_state.state.name})"


class GracefulSwitchBalancer(Balancer):
    """Runs one child policy and switches to another without a gap (grpc-go gracefulswitch)."""

    def __init__(
        self,
        cc: ClientConn,
        options: BuildOptions,
        rule: GracefulSwitchRule = GracefulSwitchRule.GRPC_GO,
    ) -> None:
        self.cc = cc
        self.options = options
        # When a pending child is swapped in (service_config.graceful_switch, GS-5, GS-6):
        # grpc-go's rule unless a case asks for another (conformance/adapters/refimpl.py).
        self.rule = rule
        self.current: _Child | None = None
        self.pending: _Child | None = None
        self.closed = False
        self._retired: list[_Child] = []  # swapped out, close queued on run_soon

    # --- introspection (tests, the channel) ---

    @property
    def current_name(self) -> str | None:
        return None if self.current is None else self.current.name

    @property
    def pending_name(self) -> str | None:
        return None if self.pending is None else self.pending.name

    def _latest(self) -> _Child | None:
        return self.pending if self.pending is not None else self.current

    def _in_use(self, child: _Child) -> bool:
        return child is self.current or child is self.pending

    # --- switching ---

    def switch_to(self, builder: Builder) -> Balancer:
        """Build a new child of ``builder``: current if there is none, else pending (GS-3).

        An older pending child is closed first.  Returns the new child policy.
        """
        if self.closed:
            raise GracefulSwitchError("switch_to after close")
        child = _Child(self, builder)
        replaced = self.pending
        if self.current is None:
            self.current = child
        else:
            self.pending = child
        if replaced is not None:
            replaced.close()
        # Registered before build: a builder may report state from inside build().
        child.balancer = builder.build(child, self.options)
        at_once = self.rule in (GracefulSwitchRule.SPEC_TEXT, GracefulSwitchRule.GRPC_JAVA)
        if at_once and child is self.pending and not self._current_ready():
            self._swap()  # GS-6 (the text, grpc-java): not READY, so nothing to wait for
        return child.balancer

    def _current_ready(self) -> bool:
        return self.current is not None and self.current.last_state.state is State.READY

    def _child_update_state(self, child: _Child, state: BalancerState) -> None:
        child.last_state = state
        if not self._in_use(child):  # GS-8
            return
        hold_connecting = self.rule is GracefulSwitchRule.HOLD_CONNECTING
        if child is self.current:
            # GS-5: nothing to protect any more -- except under hold_connecting (C-core,
            # grpc-js), where the current child's reports always pass.
            if state.state is not State.READY and self.pending is not None and not hold_connecting:
                self._swap()
                return
            self.cc.update_state(state)  # GS-5: the current child's picker stays in use
            return
        # The pending child (GS-6): CONNECTING is held while the current child is READY
        # (in any state under hold_connecting), IDLE too under the text.
        assert self.current is not None  # a pending child implies a current one
        held = (
            {State.CONNECTING, State.IDLE}
            if self.rule is GracefulSwitchRule.SPEC_TEXT
            else {State.CONNECTING}
        )
        if state.state not in held or not (self._current_ready() or hold_connecting):
            self._swap()

    def _swap(self) -> None:
        """Install the pending child's last state and make it current (GS-7)."""
        pending, old = self.pending, self.current
        assert pending is not None
        assert old is not None
        self.cc.update_state(pending.last_state)
        self.current, self.pending = pending, None
        self._retired.append(old)
        # Not inline: the swap may run inside the old child's own update_state call.
        self.options.run_soon(lambda: self._close_retired(old))

    def _close_retired(self, child: _Child) -> None:
        if child in self._retired:
            self._retired.remove(child)
            child.close()

    # --- the Balancer the parent sees ---

    def update_client_conn_state(self, state: ClientConnState) -> None:
        """Route the update to the latest child, switching first if the config says so (GS-1)."""
        if self.closed:
            raise GracefulSwitchError("update after close")
        target = self._latest()
        config = state.config
        if isinstance(config, SwitchConfig):
            if target is None or config.name != target.name:
                self.switch_to(config.builder)  # GS-2
                target = self._latest()
            state = attrs.evolve(state, config=config.child_config)
        if target is None or target.balancer is None:
            raise GracefulSwitchError(
                "no child policy: the first update must carry a SwitchConfig naming one"
            )
        target.balancer.update_client_conn_state(state)

    def resolver_error(self, error: Status) -> None:
        target = self._latest()  # GS-4
        if target is None or target.balancer is None:
            self.cc.update_state(BalancerState(State.TRANSIENT_FAILURE, FailPicker(error)))
            return
        target.balancer.resolver_error(error)

    def exit_idle(self) -> None:
        target = self._latest()  # GS-4
        if target is not None and target.balancer is not None:
            target.balancer.exit_idle()

    def close(self) -> None:
        """Close the current and the pending child, and any still awaiting close (GS-9)."""
        self.closed = True
        children = [self.current, self.pending, *self._retired]
        self.current = self.pending = None
        self._retired.clear()
        for child in children:
            if child is not None:
                child.close()
