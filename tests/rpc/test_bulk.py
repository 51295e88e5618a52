"""What callers recording many requests at once use (the mesh's fast lane, once per turn of
the loop): each bulk call leaves the same state as the one-at-a-time calls it stands for."""

from __future__ import annotations

import random

import pytest

from roost.core.clock import ManualClock
from roost.rpc.accrual import (
    FailureAccrualFactory,
    FailureAccrualPolicy,
    State,
    consecutive_failures,
)
from roost.rpc.accrual_policy import OrElse, success_rate, success_rate_windowed
from roost.rpc.budget import RetryBudget, WithdrawOnlyBudget
from roost.rpc.client_stack import Label, build_client
from roost.rpc.endpoints import EndpointSet, parse_endpoints
from roost.rpc.retries import RetryStats
from roost.rpc.stack import Params
from roost.rpc.stats import MetricsRegistry
from roost.rpc.stats.histogram import Batch, Histogram
from roost.rpc.stats.receiver import NullStatsReceiver, StatsReceiver
from roost.rpc.stats_filter import StatsFilter
from tests.rpc.test_accrual import Endpoint
from tests.rpc.test_client_stack import Backends

VALUES = [
    [0.42],
    [0.0, -1.0, 0.0005, 1e-3, 1.0, 2.5, 2.5, 1e12, 3e12],  # under, at and over the edges
    [random.Random(7).lognormvariate(0, 2) for _ in range(500)],
    [],
]


def state(h: Histogram) -> tuple[object, ...]:
    return (h._counts, h.count, round(h.sum, 9), h.min, h.max, h.snapshot().percentiles)


@pytest.mark.parametrize("values", VALUES, ids=["one", "edges", "500-lognormal", "none"])
def test_merging_a_batch_is_adding_each_value(values: list[float]) -> None:
    one, bulk = Histogram(), Histogram()
    one.add(7.0)
    bulk.add(7.0)  # merged into a histogram that already holds something
    for v in values:
        one.add(v)
    bulk.merge(Batch(values))
    assert state(bulk) == state(one)


@pytest.mark.parametrize(("value", "times"), [(0, 5), (3, 1), (2.5, 1000), (0, 0)])
def test_add_times_is_adding_a_value_that_many_times(value: float, times: int) -> None:
    one, bulk = Histogram(), Histogram()
    for _ in range(times):
        one.add(value)
    bulk.add_times(value, times)
    assert state(bulk) == state(one)


def test_leave_all_counts_successes_as_leave_does() -> None:
    registry = MetricsRegistry()
    one = StatsFilter[object, object](StatsReceiver(registry, "one"))
    bulk = StatsFilter[object, object](StatsReceiver(registry, "bulk"))
    latencies = [0.3, 1.5, 12.0]
    for f in (one, bulk):
        for _ in latencies:
            f.begin()
    for ms in latencies:
        one.leave(True, ms)
    bulk.leave_all(Batch(latencies))
    for name in ("requests", "success", "failures"):
        assert registry.get(f"bulk/{name}") is not None
        assert registry.get(f"bulk/{name}").value == registry.get(f"one/{name}").value  # type: ignore[union-attr]
    assert state(bulk._latency) == state(one._latency)
    assert bulk.pending == one.pending == 0


def test_a_deposit_of_n_is_n_deposits_and_a_withdraw_only_view_takes_none() -> None:
    clock = ManualClock()
    one, bulk = (RetryBudget(ttl=10, min_retries_per_sec=0, clock=clock) for _ in range(2))
    for _ in range(50):
        one.deposit()
    bulk.deposit(50)
    assert bulk.balance == one.balance == 10  # 20 % of 50
    view = WithdrawOnlyBudget(bulk)
    view.deposit(1000)
    assert bulk.balance == 10
    clock.advance(11)  # deposits expire together
    assert bulk.balance == one.balance == 0


def test_requeued_and_retried_count_many_requests_at_once() -> None:
    one, bulk = RetryStats(), RetryStats()
    one.requeues_histogram, one.retries_histogram = Histogram(), Histogram()
    bulk.requeues_histogram, bulk.retries_histogram = Histogram(), Histogram()
    for _ in range(4):
        one.requeued(0)
        one.retried(0)
    one.retried(2)
    bulk.requeued(0, 4)
    bulk.retried(0, 4)
    bulk.retried(2)
    assert bulk.requeues_per_request == one.requeues_per_request == {0: 4}
    assert bulk.retries_per_request == one.retries_per_request == {0: 4, 2: 1}
    assert state(bulk.retries_histogram) == state(one.retries_histogram)
    assert state(bulk.requeues_histogram) == state(one.requeues_histogram)


POLICIES = {
    "consecutive": lambda: consecutive_failures(3, [5.0]),
    "success-rate": lambda: success_rate(0.9, 10, [5.0]),
    "windowed": lambda: success_rate_windowed(0.9, 30, [5.0], 5),
    "both": lambda: OrElse(consecutive_failures(3, [5.0]), success_rate(0.9, 10, [5.0])),
}


def summary(policy: FailureAccrualPolicy) -> list[object]:
    """What a policy's next verdict depends on: counts and success-rate EMAs, nested."""
    out: list[object] = []
    for part in (getattr(policy, "first", None), getattr(policy, "second", None)):
        if part is not None:
            out += summary(part)
    for key in ("failures", "requests"):
        out.append(getattr(policy, key, None))
    ema = getattr(policy, "ema", None)
    out.append(None if ema is None else ema.value)
    return out


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("n", [1, 4])
def test_succeeded_n_is_n_successes_in_a_row(policy: str, n: int) -> None:
    def factory() -> tuple[FailureAccrualFactory[str, str], ManualClock, FailureAccrualPolicy]:
        clock = ManualClock()
        made: FailureAccrualPolicy = POLICIES[policy]()
        return FailureAccrualFactory(Endpoint(), made, clock), clock, made

    (one, c1, p1), (bulk, c2, p2) = factory(), factory()
    for f, c in ((one, c1), (bulk, c2)):  # two failures, then a run of successes
        for _ in range(2):
            f.begin()
            f.observe("failure")
            c.advance(0.1)
        for _ in range(n):
            f.begin()
    for _ in range(n):
        one.observe("success")
    bulk.succeeded(n)
    assert summary(p2) == summary(p1)
    assert bulk.state is one.state is State.ALIVE
    # one more failure: the consecutive count started over after the successes either way
    for f in (one, bulk):
        f.begin()
        f.observe("failure")
    assert bulk.state is one.state


def test_a_run_of_successes_is_recorded_once_only_where_that_is_the_same() -> None:
    assert consecutive_failures(3).once_per_success_run
    assert not success_rate(0.9, 10).once_per_success_run
    assert OrElse(consecutive_failures(3), consecutive_failures(5)).once_per_success_run
    assert not OrElse(consecutive_failures(3), success_rate(0.9, 10)).once_per_success_run


async def test_a_client_without_stats_records_its_requests_in_bulk_into_nothing() -> None:
    """The null receiver's histograms take bulk records too (every request of a requeue
    filter ends in ``requeued(0)``)."""
    built = build_client(
        EndpointSet(parse_endpoints("10.0.0.1:80")), Backends().transport, Params([Label("web")])
    )
    assert await built.service("x") == "10.0.0.1:80:x"
    null = NullStatsReceiver()
    f = StatsFilter[object, object](null)
    f.begin()
    f.leave_all(Batch([1.0]))
    null.stat("h").add_times(1.0, 3)
    assert f.pending == 0
