"""Refused-offer filters: superset matching, durations (MESOS-4302) and the filter index."""

from __future__ import annotations

import math

import pytest

from roost.cluster.master.allocator import (
    DEFAULT_REFUSE_SECONDS,
    MAX_REFUSE_SECONDS,
    OfferFilters,
    RefusedOfferFilter,
    refuse_timeout,
)
from roost.core.resources import Resources

R = Resources.parse
DAY = 24 * 3600.0


@pytest.mark.parametrize(
    ("refused", "offered", "filtered"),
    [
        ("cpus:4;mem:1024", "cpus:4;mem:1024", True),  # the same offer again
        ("cpus:4;mem:1024", "cpus:2;mem:512", True),  # smaller
        ("cpus:4;mem:1024", "cpus:4", True),
        ("cpus:4;mem:1024", "cpus:5;mem:1024", False),  # more cpus
        ("cpus:4;mem:1024", "cpus:4;mem:1024;disk:1", False),  # a new resource
        ("cpus:4;ports:[31000-31010]", "cpus:4;ports:[31000-31005]", True),
        ("cpus:4;ports:[31000-31010]", "cpus:4;ports:[31005-31020]", False),
    ],
)
def test_filter_matches_exactly_the_refused_or_a_smaller_offer(
    refused: str, offered: str, filtered: bool
) -> None:
    f = RefusedOfferFilter("fw", "*", "agent", R(refused), expires_at=10.0)
    assert f.matches(R(offered)) is filtered


@pytest.mark.parametrize(
    ("refuse_seconds", "interval", "timeout"),
    [
        (5.0, 1.0, 5.0),
        (DEFAULT_REFUSE_SECONDS, 1.0, 5.0),
        (0.0, 1.0, 0.0),  # no filter
        (0, 1.0, 0.0),
        (0.1, 1.0, 1.0),  # never shorter than the allocation interval (MESOS-4302)
        (3.0, 10.0, 10.0),
        (-1.0, 1.0, 5.0),  # negative: default
        (math.nan, 1.0, 5.0),  # invalid: default
        ("soon", 1.0, 5.0),
        (None, 1.0, 5.0),
        (400 * DAY, 1.0, 365 * DAY),  # capped
        (math.inf, 1.0, 365 * DAY),
        (1e308, 1.0, MAX_REFUSE_SECONDS),
        ("30", 1.0, 30.0),
    ],
)
def test_refuse_timeout_follows_upstream_rules(
    refuse_seconds: object, interval: float, timeout: float
) -> None:
    assert refuse_timeout(refuse_seconds, interval) == timeout


def flt(
    fw: str = "fw", role: str = "*", agent: str = "a1", res: str = "cpus:4", exp: float = 10.0
) -> RefusedOfferFilter:
    return RefusedOfferFilter(fw, role, agent, R(res), exp)


def test_expired_filters_stop_filtering_and_are_dropped_when_looked_at() -> None:
    filters = OfferFilters()
    filters.add(flt(exp=10.0))
    assert filters.is_filtered("fw", "*", "a1", R("cpus:4"), now=9.99)
    assert not filters.is_filtered("fw", "*", "a1", R("cpus:4"), now=10.0)
    assert len(filters) == 0
    assert not filters.has_agent("a1")


def test_filters_are_keyed_by_framework_role_and_agent() -> None:
    filters = OfferFilters()
    filters.add(flt())
    assert filters.is_filtered("fw", "*", "a1", R("cpus:1"), now=0.0)
    assert not filters.is_filtered("other", "*", "a1", R("cpus:1"), now=0.0)
    assert not filters.is_filtered("fw", "eng", "a1", R("cpus:1"), now=0.0)
    assert not filters.is_filtered("fw", "*", "a2", R("cpus:1"), now=0.0)


def test_any_of_several_filters_for_one_key_can_filter() -> None:
    filters = OfferFilters()
    filters.add(flt(res="cpus:4", exp=5.0))
    filters.add(flt(res="mem:64", exp=20.0))
    assert filters.is_filtered("fw", "*", "a1", R("cpus:2"), now=1.0)
    assert filters.is_filtered("fw", "*", "a1", R("mem:32"), now=1.0)
    assert not filters.is_filtered("fw", "*", "a1", R("cpus:2"), now=6.0)
    assert filters.is_filtered("fw", "*", "a1", R("mem:32"), now=6.0)
    assert len(filters) == 1


def test_removing_a_framework_drops_only_its_filters() -> None:
    filters = OfferFilters()
    filters.add(flt(fw="f1", agent="a1"))
    filters.add(flt(fw="f1", agent="a2"))
    filters.add(flt(fw="f2", agent="a1"))
    filters.remove_framework("f1")
    assert [f.framework_id for f in filters.filters()] == ["f2"]
    assert not filters.has_agent("a2")
    filters.remove_framework("unknown")  # a no-op


def test_removing_an_agent_drops_only_its_filters() -> None:
    filters = OfferFilters()
    filters.add(flt(fw="f1", agent="a1"))
    filters.add(flt(fw="f1", agent="a2"))
    filters.add(flt(fw="f2", agent="a1"))
    filters.remove_agent("a1")
    assert [(f.framework_id, f.agent_id) for f in filters.filters()] == [("f1", "a2")]
    filters.remove_framework("f2")  # its index entry went with the agent
    assert len(filters) == 1


def test_the_count_follows_adds_expiry_and_removals() -> None:
    filters = OfferFilters()
    filters.add(flt(fw="f1", agent="a1", exp=5.0))
    filters.add(flt(fw="f1", agent="a1", exp=50.0))
    filters.add(flt(fw="f2", agent="a1", exp=5.0))
    filters.add(flt(fw="f1", agent="a2", exp=5.0))
    assert len(filters) == 4
    filters.add(flt(fw="f1", agent="a2", exp=60.0), now=10.0)  # drops the expired one there
    assert len(filters) == 4
    assert not filters.is_filtered("f1", "*", "a1", R("mem:1"), now=10.0)  # drops one
    assert len(filters) == 3 == len(filters.filters())
    assert len(filters.filters("f1")) == 2
    filters.remove_agent("a1")
    assert len(filters) == 1
    filters.remove_framework("f1")
    assert len(filters) == 0 == len(filters.filters())
