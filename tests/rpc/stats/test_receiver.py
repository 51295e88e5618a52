"""StatsReceiver scopes and the registry: Finagle-style names, one object per name."""

from __future__ import annotations

import pytest

from roost.rpc.stats import (
    DEFAULT_REGISTRY,
    Counter,
    Histogram,
    MetricsRegistry,
    NullStatsReceiver,
    StatsReceiver,
)


def test_scopes_join_names_with_slashes() -> None:
    registry = MetricsRegistry()
    stats = StatsReceiver(registry).scope("clnt", "web")
    stats.counter("requests").incr()
    stats.scope("retries").counter("requeues").incr(2)
    stats.counter("failures", "Rejected").incr()
    assert [name for name, _ in registry] == [
        "clnt/web/failures/Rejected",
        "clnt/web/requests",
        "clnt/web/retries/requeues",
    ]
    counter = registry.get("clnt/web/retries/requeues")
    assert isinstance(counter, Counter) and counter.value == 2


def test_the_same_name_returns_the_same_object() -> None:
    registry = MetricsRegistry()
    a = StatsReceiver(registry).scope("srv", "x")
    b = StatsReceiver(registry).scope("srv").scope("x")
    assert a.counter("requests") is b.counter("requests")
    assert a.stat("request_latency_ms") is b.stat("request_latency_ms")
    assert a.counter("a", "b") is a.scope("a").counter("b")


def test_a_gauge_reads_its_function_and_the_newest_registration_wins() -> None:
    registry = MetricsRegistry()
    stats = StatsReceiver(registry)
    first = stats.gauge("pending", lambda: 1)
    second = stats.gauge("pending", fn=lambda: 2)
    assert first is second
    assert first.value == 2
    first.remove()
    assert "pending" not in registry


def test_a_name_cannot_change_kind() -> None:
    stats = StatsReceiver(MetricsRegistry())
    stats.counter("x")
    with pytest.raises(ValueError, match="already a counter"):
        stats.stat("x")


def test_a_metric_needs_a_name_and_a_gauge_a_function() -> None:
    stats = StatsReceiver(MetricsRegistry()).scope("clnt")
    with pytest.raises(ValueError):
        stats.counter()
    with pytest.raises(ValueError):
        stats.counter("", "/")
    with pytest.raises(TypeError):
        stats.gauge("g")


def test_empty_scope_segments_are_skipped() -> None:
    registry = MetricsRegistry()
    StatsReceiver(registry).scope("", "clnt", "/web/").counter("requests")
    assert "clnt/web/requests" in registry


def test_the_null_receiver_records_and_registers_nothing() -> None:
    stats = NullStatsReceiver().scope("clnt", "x")
    c = stats.counter("requests")
    c.incr(5)
    h = stats.stat("latency")
    h.add(3.0)
    g = stats.gauge("pending", lambda: 7)
    assert c.value == 0
    assert isinstance(h, Histogram) and h.count == 0
    assert g.value == 7
    assert len(stats.registry) == 0


def test_a_receiver_without_a_registry_uses_the_process_registry() -> None:
    stats = StatsReceiver()
    assert stats.registry is DEFAULT_REGISTRY
