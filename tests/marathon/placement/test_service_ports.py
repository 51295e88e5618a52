"""Service ports: port 0 replaced by a free port of [10000, 20000) (assignDynamicServicePorts)."""

from __future__ import annotations

from typing import Any

import pytest

from roost.marathon.placement import PortsExhausted, ServicePortAllocator
from tests.marathon.placement import app


def defs(*ports: int) -> list[dict[str, Any]]:
    return [{"port": p, "name": f"p{i}"} for i, p in enumerate(ports)]


def ports(spec: Any) -> list[int]:
    return [d.port for d in spec.port_definitions]


# (port definitions, used, assigned ports)
CASES: list[tuple[list[int], set[int], list[int]]] = [
    ([0], set(), [10000]),
    ([0, 0, 0], set(), [10000, 10001, 10002]),
    ([0, 0], {10000, 10002}, [10001, 10003]),
    ([10000, 0], set(), [10000, 10001]),  # an explicit port is never handed out again
    ([0, 12345], {10000}, [10001, 12345]),
    ([8080, 9090], set(), [8080, 9090]),
    ([], set(), []),
]


@pytest.mark.parametrize(("given", "used", "assigned"), CASES)
def test_service_ports_fill_only_the_zeros_with_the_lowest_free_ports(
    given: list[int], used: set[int], assigned: list[int]
) -> None:
    spec = app(portDefinitions=defs(*given))
    assert ports(ServicePortAllocator().assign(spec, used)) == assigned


def test_other_fields_of_the_port_definitions_are_kept() -> None:
    spec = app(
        portDefinitions=[{"port": 0, "name": "http", "protocol": "udp", "labels": {"a": "b"}}]
    )
    (d,) = ServicePortAllocator().assign(spec, set()).port_definitions
    assert (d.port, d.name, d.protocol, d.labels) == (10000, "http", "udp", {"a": "b"})


def test_an_app_without_zeros_is_returned_unchanged() -> None:
    spec = app(portDefinitions=defs(8080))
    assert ServicePortAllocator().assign(spec, set()) is spec


def test_used_ports_are_not_modified() -> None:
    used = {10000}
    ServicePortAllocator().assign(app(portDefinitions=defs(0, 0)), used)
    assert used == {10000}


def test_the_upper_bound_is_never_assigned() -> None:
    allocator = ServicePortAllocator(10000, 10002)
    assert ports(allocator.assign(app(portDefinitions=defs(0, 0)), set())) == [10000, 10001]
    with pytest.raises(
        PortsExhausted, match=r"All ports in the range \[10000-10002\) are already in use"
    ):
        allocator.assign(app(portDefinitions=defs(0, 0, 0)), set())


def test_exhaustion_is_a_value_error() -> None:
    allocator = ServicePortAllocator(10000, 10001)
    with pytest.raises(ValueError):
        allocator.assign(app(portDefinitions=defs(0)), {10000})


def test_a_redeployed_app_keeps_its_previous_service_ports() -> None:
    allocator = ServicePortAllocator()
    previous = allocator.assign(app(portDefinitions=defs(0, 0)), {10000, 10001})
    assert ports(previous) == [10002, 10003]
    # the caller's used set includes the old version's ports; they are handed back anyway
    again = allocator.assign(
        app(portDefinitions=defs(0, 0)), {10000, 10001, 10002, 10003}, previous=previous
    )
    assert ports(again) == [10002, 10003]


def test_previous_ports_outside_the_range_or_now_explicit_are_not_reused() -> None:
    allocator = ServicePortAllocator()
    previous = app(portDefinitions=defs(8080, 10005, 10006))
    spec = app(portDefinitions=defs(0, 10005, 0))
    assert ports(allocator.assign(spec, set(), previous=previous)) == [10006, 10005, 10000]


@pytest.mark.parametrize(("low", "high"), [(0, 10), (10, 5), (60000, 70000)])
def test_a_bad_range_is_refused(low: int, high: int) -> None:
    with pytest.raises(ValueError, match="bad service port range"):
        ServicePortAllocator(low, high)
