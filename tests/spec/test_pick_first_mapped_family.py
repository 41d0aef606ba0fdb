"""PF-7 under the spec option pick_first.ipv4_mapped_family (spec/options.py)."""

from __future__ import annotations

from spec.monitors.pick_first import PickFirstMonitor, address_list
from spec.options import OPTIONS, FamilyInterleaving, MappedFamily
from spec.types import Endpoint

MAPPED, V4, V6 = "[::ffff:10.0.0.9]:80", "10.0.0.1:80", "[2001:db8::1]:443"
ENDPOINTS = [Endpoint([MAPPED]), Endpoint([V4]), Endpoint([V6])]


def _order(families: FamilyInterleaving, mapped: MappedFamily) -> list[str]:
    return [a.addr for a in address_list(ENDPOINTS, families, mapped)]


def test_mapped_address_is_ipv4_by_default() -> None:
    """PF-7: ipv4 (grpc-go, grpc-java) puts the mapped address with 10.0.0.1."""
    assert _order(FamilyInterleaving.TWO_FAMILIES, MappedFamily.IPV4) == [MAPPED, V6, V4]
    assert _order(FamilyInterleaving.THREE_FAMILIES, MappedFamily.IPV4) == [MAPPED, V6, V4]


def test_mapped_address_is_ipv6_under_grpc_js_value() -> None:
    """PF-7: ipv6 (grpc-js isIPv6) puts the mapped address with 2001:db8::1."""
    assert _order(FamilyInterleaving.TWO_FAMILIES, MappedFamily.IPV6) == [MAPPED, V4, V6]
    assert _order(FamilyInterleaving.THREE_FAMILIES, MappedFamily.IPV6) == [MAPPED, V4, V6]


def test_monitor_default_is_the_registry_default() -> None:
    """PF-7: an adapter that declares nothing is judged by the registry's default."""
    default = OPTIONS["pick_first.ipv4_mapped_family"].default
    assert PickFirstMonitor().ipv4_mapped_family.value == default == "ipv4"


def test_new_pick_first_monitor_parameters_default_to_the_registry() -> None:
    """PF-8, PF-22: an adapter declaring nothing is judged by each option's default."""
    values = PickFirstMonitor()._worlds[0].options.values
    assert (
        values["pick_first.resolver_error_with_addresses"]
        == OPTIONS["pick_first.resolver_error_with_addresses"].default
        == "keep_subchannels"
    )
    assert (
        values["pick_first.ready_on_update"]
        == OPTIONS["pick_first.ready_on_update"].default
        == "unchanged"
    )
