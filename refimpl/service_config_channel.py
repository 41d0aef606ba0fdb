"""The channel's LB layer: a whole service config in, the selected policy run under graceful switch.

Drive it with the :class:`~refimpl.driver.Driver`::

    driver = Driver(ServiceConfigChannelBuilder())
    driver.step(ResolverUpdate(endpoints, config='{"loadBalancingConfig": [{"round_robin": {}}]}'))

``ResolverUpdate.config`` is then the service config (JSON text or parsed
JSON), not a policy's config.  The pieces and who does what, as in grpc-go:

* :meth:`ServiceConfigChannelBuilder.parse_config` parses the service config
  (:mod:`refimpl.service_config`; grpc-go ``parseServiceConfig``, which the
  resolver calls).  The driver calls it and applies the channel's rules for an
  invalid one (grpc-go ``ClientConn.updateResolverStateAndUnlock``): the first
  config invalid -> TRANSIENT_FAILURE with a picker failing UNAVAILABLE "error
  parsing service config: ..." and the update rejected (SC-10); after a config
  was in force -> the update is applied with the old config and rejected (SC-11).
* :class:`ServiceConfigChannel` runs the selected policy under
  :class:`~refimpl.graceful_switch.GracefulSwitchBalancer` (grpc-go
  ``ccBalancerWrapper``, which wraps a ``gracefulswitch.Balancer``).
* An update without a service config (``config=None``) keeps the config in
  force, or uses the channel's default config when there is none yet (SC-12).
  That is grpc-go's ``maybeApplyDefaultServiceConfig``; the language-neutral
  pseudo-code in client_channel_specification.md ("Channel Handling of Resolver
  Result") uses the default config every time.  :class:`MissingConfigRule`
  selects either.

The builder is not registered: a service config selecting "the channel" as its
own policy would make no sense.  Pass an instance to the driver.
"""

from __future__ import annotations

import enum

from refimpl import registry
from refimpl.balancer import (
    BadResolverStateError,
    Balancer,
    BalancerState,
    Builder,
    BuildOptions,
    ClientConn,
    ClientConnState,
    ConfigError,
    ConfigParser,
    FailPicker,
    JsonValue,
    unavailable,
)
from refimpl.graceful_switch import GracefulSwitchBalancer, SwitchConfig
from refimpl.service_config import (
    Lookup,
    ServiceConfig,
    ServiceConfigError,
    parse_service_config,
)
from spec.connectivity import State
from spec.options import GracefulSwitchRule
from spec.types import Status

CHANNEL_BUILDER_NAME = "service_config_channel"


class MissingConfigRule(enum.Enum):
    """What an update without a service config means (SC-12)."""

    KEEP_PREVIOUS = "keep_previous"  # grpc-go: keep the config in force, default only at first
    USE_DEFAULT = "use_default"  # client_channel_specification.md pseudo-code


class ServiceConfigChannel(Balancer):
    """Selects the policy from each service config and runs it under graceful switch."""

    def __init__(
        self,
        cc: ClientConn,
        options: BuildOptions,
        builder: ServiceConfigChannelBuilder,
    ) -> None:
        self.builder = builder
        self.cc = cc
        self.switch = GracefulSwitchBalancer(cc, options, builder.graceful_switch)
        self.service_config: ServiceConfig | None = None  # the config in force

    def update_client_conn_state(self, state: ClientConnState) -> None:
        config = state.config
        if config is None:  # SC-12
            keep = self.builder.missing_config is MissingConfigRule.KEEP_PREVIOUS
            if keep and self.service_config is not None:
                config = self.service_config
            else:
                config = self._default_config()
        if not isinstance(config, ServiceConfig):
            raise ConfigError("", f"expected a parsed ServiceConfig, got {type(config).__name__}")
        self.service_config = config
        selection = config.lb_policy
        self.switch.update_client_conn_state(
            ClientConnState(state.resolver_state, SwitchConfig(selection.builder, selection.config))
        )

    def _default_config(self) -> ServiceConfig:
        try:
            return self.builder.default_config()
        except ServiceConfigError as err:
            # A misconfigured channel: fail RPCs the way an invalid first config does.
            reason = f"error parsing the default service config: {err}"
            self.cc.update_state(
                BalancerState(State.TRANSIENT_FAILURE, FailPicker(unavailable(reason)))
            )
            raise BadResolverStateError(reason) from err

    def resolver_error(self, error: Status) -> None:
        self.switch.resolver_error(error)

    def exit_idle(self) -> None:
        self.switch.exit_idle()

    def close(self) -> None:
        self.switch.close()

    @property
    def policy_name(self) -> str | None:
        """The policy whose picker is in use (graceful switch's current child)."""
        return self.switch.current_name


class ServiceConfigChannelBuilder(Builder, ConfigParser):
    """Builds :class:`ServiceConfigChannel`; its config is a whole service config."""

    name = CHANNEL_BUILDER_NAME

    def __init__(
        self,
        *,
        default_service_config: str | JsonValue = "{}",
        missing_config: MissingConfigRule = MissingConfigRule.KEEP_PREVIOUS,
        lookup: Lookup | None = None,
        graceful_switch: GracefulSwitchRule = GracefulSwitchRule.GRPC_GO,
    ) -> None:
        self.default_service_config = default_service_config
        self.missing_config = missing_config
        self._lookup = lookup
        self.graceful_switch = graceful_switch  # service_config.graceful_switch (GS-5, GS-6)

    def parse_config(self, config: JsonValue) -> ServiceConfig:
        """Parse a service config; raises :class:`~refimpl.service_config.ServiceConfigError`."""
        return parse_service_config(config, lookup=self._lookup or registry.get)

    def default_config(self) -> ServiceConfig:
        """The channel's default service config, parsed when needed (the registry may change)."""
        return self.parse_config(self.default_service_config)

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        return ServiceConfigChannel(cc, options, self)
