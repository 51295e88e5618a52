"""Host ports: dynamic ports from the offer's ranges, required ports exactly (PortsMatcher)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roost.core.ranges import Ranges
from roost.marathon.placement import choose_host_ports, place
from tests.marathon.placement import app, offer, ports_of, resource


def defs(*ports: int) -> list[dict[str, Any]]:
    return [{"port": p} for p in ports]


# (port definitions, requirePorts, free ranges, chosen host ports or None)
CHOICES: list[tuple[list[int], bool, list[tuple[int, int]], tuple[int, ...] | None]] = [
    ([], False, [], ()),
    ([], True, [], ()),
    ([0], False, [(31000, 31005)], (31000,)),
    ([0, 0, 0], False, [(31000, 31001), (31005, 31010)], (31000, 31001, 31005)),
    ([0, 0], False, [(31000, 31000)], None),
    ([10000, 10001], False, [(31000, 31010)], (31000, 31001)),  # not required: any ports
    ([31005, 31002], True, [(31000, 31010)], (31005, 31002)),
    ([31005, 40000], True, [(31000, 31010)], None),
    ([31000, 0], True, [(31000, 31002)], (31000, 31001)),  # a port 0 stays dynamic
    ([0, 31000], True, [(31000, 31001)], (31001, 31000)),
    ([0], False, [], None),
]


@pytest.mark.parametrize(("ports", "require", "free", "chosen"), CHOICES)
def test_host_ports_are_chosen_like_marathon(
    ports: list[int], require: bool, free: list[tuple[int, int]], chosen: tuple[int, ...] | None
) -> None:
    spec = app(portDefinitions=defs(*ports), requirePorts=require)
    assert choose_host_ports(spec, Ranges(free)) == chosen


def test_a_required_port_listed_twice_cannot_be_satisfied() -> None:
    spec = app(portDefinitions=defs(31000), requirePorts=True)
    twice = spec.model_copy(update={"port_definitions": spec.port_definitions * 2})
    assert choose_host_ports(twice, Ranges([(31000, 31010)])) is None


def test_required_ports_missing_from_the_offer_are_insufficient_ports() -> None:
    spec = app(portDefinitions=defs(8080), requirePorts=True)
    result = place(offer(ports=[(31000, 32000)]), spec, [], 1)
    assert result.placements == []
    assert result.reason == "InsufficientPorts"


def test_required_ports_are_taken_exactly_and_only_once() -> None:
    spec = app(portDefinitions=defs(31005), requirePorts=True)
    result = place(offer(ports=[(31000, 31010)]), spec, [], 2)
    assert [p.host_ports for p in result.placements] == [(31005,)]
    assert ports_of(result.placements[0].resources) == [31005]
    assert result.reason == "InsufficientPorts"


def test_app_without_port_definitions_needs_no_ports() -> None:
    result = place(offer(ports=[]), app(portDefinitions=[]), [], 2)
    assert len(result.placements) == 2
    for p in result.placements:
        assert p.host_ports == ()
        assert not any(r["name"] == "ports" for r in p.resources)


def test_an_offer_without_ports_refuses_an_app_with_ports() -> None:
    result = place(offer(ports=[]), app(portDefinitions=defs(0)), [], 1)
    assert result.reason == "InsufficientPorts"


def test_each_placement_gets_its_own_ports() -> None:
    spec = app(portDefinitions=defs(0, 0))
    result = place(offer(ports=[(31000, 31004)]), spec, [], 5)
    assert [p.host_ports for p in result.placements] == [(31000, 31001), (31002, 31003)]
    assert result.reason == "InsufficientPorts"


def test_ports_from_two_entries_keep_each_entrys_role() -> None:
    reserved = resource("ports", [(5000, 5000)], reserved_for="web", allocation="web")
    unreserved = resource("ports", [(6000, 6000)], allocation="web")
    raw = offer(ports=[], allocation="web", extra=[reserved, unreserved])
    result = place(raw, app(portDefinitions=defs(0, 0)), [], 1)
    (placed,) = result.placements
    assert placed.host_ports == (5000, 6000)
    port_items = [r for r in placed.resources if r["name"] == "ports"]
    assert [(r["role"], r["ranges"]["range"]) for r in port_items] == [
        ("web", [{"begin": 5000, "end": 5000}]),
        ("*", [{"begin": 6000, "end": 6000}]),
    ]
    assert port_items[0]["reservations"] == [{"type": "STATIC", "role": "web"}]


spans = st.lists(
    st.tuples(st.integers(1, 400), st.integers(0, 6)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=5,
)


@settings(max_examples=150, deadline=None)
@given(
    free=spans,
    count=st.integers(0, 4),
    wanted=st.integers(0, 8),
)
def test_placements_never_reuse_a_port_and_only_use_offered_ones(
    free: list[tuple[int, int]], count: int, wanted: int
) -> None:
    spec = app(portDefinitions=defs(*([0] * count)), cpus=0.1, mem=1)
    result = place(offer(ports=free), spec, [], wanted)
    offered = Ranges(free)
    used = [p for placed in result.placements for p in placed.host_ports]
    assert len(used) == len(set(used))
    assert all(p in offered for p in used)
    for placed in result.placements:
        assert sorted(ports_of(placed.resources)) == sorted(placed.host_ports)
        assert len(placed.host_ports) == count
    if count:
        assert len(result.placements) == min(wanted, len(offered) // count)
