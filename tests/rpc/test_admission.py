"""Admission control: the concurrency limit, deadline admission and NACK admission."""

from __future__ import annotations

import asyncio
import math
import random

import pytest

from roost.core.clock import ManualClock
from roost.rpc.admission import (
    ConcurrencyLimitFilter,
    DeadlineAdmissionFilter,
    NackAdmissionFilter,
)
from roost.rpc.context import NS, Deadline, deadline_scope
from roost.rpc.errors import DeadlineExceeded, Flags, Rejected, RpcError
from roost.rpc.service import FnService, Service
from roost.rpc.stats import MetricsRegistry, StatsReceiver, flat_json

# --- concurrency limit --------------------------------------------------------------------


class Gate:
    """A backend whose requests wait until released, in the order they arrived."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.events: dict[str, asyncio.Event] = {}

    async def __call__(self, req: str) -> str:
        self.started.append(req)
        self.events[req] = asyncio.Event()
        await self.events[req].wait()
        return req

    def release(self, req: str) -> None:
        self.events[req].set()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_excess_requests_wait_in_order_and_beyond_the_queue_are_rejected() -> None:
    registry = MetricsRegistry()
    gate = Gate()
    limit: ConcurrencyLimitFilter[str, str] = ConcurrencyLimitFilter(
        2, max_waiters=2, stats_receiver=StatsReceiver(registry).scope("srv", "web")
    )
    service = limit.and_then(FnService(gate))
    tasks = [asyncio.create_task(service(r)) for r in ("a", "b", "c", "d")]
    await settle()
    assert gate.started == ["a", "b"]
    assert (limit.request_concurrency, limit.request_queue_size) == (2, 2)
    with pytest.raises(Rejected) as info:
        await service("e")
    assert info.value.rejected and info.value.retryable
    assert flat_json(registry) == {
        "srv/web/admission_control/concurrency_limit/rejected": 1,
        "srv/web/request_concurrency": 2,
        "srv/web/request_queue_size": 2,
    }
    gate.release("b")
    await settle()
    assert gate.started == ["a", "b", "c"]
    assert (limit.request_concurrency, limit.request_queue_size) == (2, 1)
    for r in ("a", "c", "d"):
        await settle()
        gate.release(r)
    assert await asyncio.gather(*tasks) == ["a", "b", "c", "d"]
    assert (limit.request_concurrency, limit.request_queue_size) == (0, 0)


async def test_without_waiters_the_request_over_the_limit_is_rejected_at_once() -> None:
    gate = Gate()
    limit: ConcurrencyLimitFilter[str, str] = ConcurrencyLimitFilter(1, max_waiters=0)
    service = limit.and_then(FnService(gate))
    first = asyncio.create_task(service("a"))
    await settle()
    with pytest.raises(Rejected):
        await service("b")
    gate.release("a")
    assert await first == "a"
    second = asyncio.create_task(service("c"))  # the slot is free again
    await settle()
    gate.release("c")
    assert await second == "c"


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    gate = Gate()
    limit: ConcurrencyLimitFilter[str, str] = ConcurrencyLimitFilter(1, max_waiters=2)
    service = limit.and_then(FnService(gate))
    running = asyncio.create_task(service("a"))
    waiting = asyncio.create_task(service("b"))
    after = asyncio.create_task(service("c"))
    await settle()
    waiting.cancel()
    await settle()
    assert limit.request_queue_size == 1
    gate.release("a")
    await settle()
    assert gate.started == ["a", "c"]
    gate.release("c")
    assert [await running, await after] == ["a", "c"]
    assert waiting.cancelled()
    assert (limit.request_concurrency, limit.request_queue_size) == (0, 0)


async def test_a_slot_handed_to_a_waiter_cancelled_meanwhile_is_passed_on() -> None:
    gate = Gate()
    limit: ConcurrencyLimitFilter[str, str] = ConcurrencyLimitFilter(1, max_waiters=2)
    limited = limit.and_then(FnService(gate))
    tasks: dict[str, asyncio.Task[str]] = {}

    async def caller(req: str) -> str:
        try:
            return await limited(req)
        finally:
            if req == "a":
                # the same step in which "a" handed its slot to "b": "b" has not run yet
                tasks["b"].cancel()

    for r in ("a", "b", "c"):
        tasks[r] = asyncio.create_task(caller(r))
    await settle()
    gate.release("a")
    await settle()
    assert tasks["b"].cancelled()
    assert gate.started == ["a", "c"]
    gate.release("c")
    assert [await tasks["a"], await tasks["c"]] == ["a", "c"]
    assert (limit.request_concurrency, limit.request_queue_size) == (0, 0)


def test_limits_must_be_sensible() -> None:
    with pytest.raises(ValueError):
        ConcurrencyLimitFilter(0)
    with pytest.raises(ValueError):
        ConcurrencyLimitFilter(1, max_waiters=-1)


# --- deadline admission -------------------------------------------------------------------


async def echo(req: str) -> str:
    return req


def expired(clock: ManualClock, late: float = 1.0) -> Deadline:
    now = int(clock.time() * NS)
    return Deadline(now - 2 * NS, now - int(late * NS))


def in_time(clock: ManualClock, left: float = 0.5) -> Deadline:
    now = int(clock.time() * NS)
    return Deadline(now, now + int(left * NS))


async def send(service: Service[str, str], deadline: Deadline | None) -> str:
    """``"S"`` if serviced, ``"R"`` if rejected for its deadline."""
    with deadline_scope(deadline):
        try:
            await service("x")
        except DeadlineExceeded:
            return "R"
    return "S"


def deadline_filter(
    clock: ManualClock, registry: MetricsRegistry | None = None, **kw: object
) -> DeadlineAdmissionFilter[str, str]:
    stats = StatsReceiver(MetricsRegistry() if registry is None else registry).scope("srv", "web")
    return DeadlineAdmissionFilter(stats, clock=clock, **kw)  # type: ignore[arg-type]


async def test_expired_requests_are_rejected_one_for_every_five_serviced() -> None:
    clock = ManualClock()
    f = deadline_filter(clock, dark_mode=False)
    service = f.and_then(FnService(echo))
    outcomes = [await send(service, expired(clock)) for _ in range(60)]
    assert "".join(outcomes) == "SSSSSR" * 10
    assert (f.exceeded.value, f.rejected.value) == (60, 10)


async def test_at_most_twenty_percent_of_requests_are_rejected_over_the_period() -> None:
    clock = ManualClock()
    f = deadline_filter(clock, dark_mode=False)
    service = f.and_then(FnService(echo))
    fresh = [await send(service, in_time(clock)) for _ in range(100)]
    late = [await send(service, expired(clock)) for _ in range(100)]
    assert set(fresh) == {"S"}
    # 100 deposits pay for 20 rejections; then one per five serviced late requests
    assert "".join(late) == "R" * 20 + "SSSSSR" * 13 + "SS"
    assert f.rejected.value == 33
    assert f.rejected.value <= 0.2 * 200
    with deadline_scope(expired(clock)):
        with pytest.raises(DeadlineExceeded) as info:
            for _ in range(6):
                await service("x")
    assert info.value.rejected and not info.value.retryable


async def test_deposits_expire_after_the_reject_period() -> None:
    clock = ManualClock()
    f = deadline_filter(clock, dark_mode=False)
    service = f.and_then(FnService(echo))
    for _ in range(50):
        await send(service, None)  # no deadline: serviced, deposits
    clock.advance(10.0)
    outcomes = [await send(service, expired(clock)) for _ in range(6)]
    assert "".join(outcomes) == "SSSSSR"


async def test_dark_mode_rejects_nothing_but_counts_what_it_would_reject() -> None:
    clock = ManualClock()
    registry = MetricsRegistry()
    f = deadline_filter(clock, registry)  # dark mode is the default
    assert f.dark_mode
    service = f.and_then(FnService(echo))
    outcomes = [await send(service, expired(clock, late=0.25)) for _ in range(60)]
    outcomes.append(await send(service, in_time(clock, left=0.5)))
    assert set(outcomes) == {"S"}
    flat = flat_json(registry)
    prefix = "srv/web/admission_control/deadline"
    assert flat[f"{prefix}/exceeded"] == 60
    assert flat[f"{prefix}/rejected"] == 10
    assert flat[f"{prefix}/expired_ms.count"] == 60
    assert flat[f"{prefix}/expired_ms.max"] == pytest.approx(250.0, abs=0.01)
    assert flat[f"{prefix}/remaining_ms.count"] == 1
    assert flat[f"{prefix}/remaining_ms.min"] == pytest.approx(500.0, abs=0.01)


async def test_a_zero_reject_fraction_never_rejects() -> None:
    clock = ManualClock()
    f = deadline_filter(clock, dark_mode=False, max_reject_fraction=0.0)
    service = f.and_then(FnService(echo))
    outcomes = [await send(service, expired(clock)) for _ in range(20)]
    assert set(outcomes) == {"S"}
    assert (f.exceeded.value, f.rejected.value) == (20, 0)


def test_the_reject_period_is_one_to_sixty_seconds() -> None:
    with pytest.raises(ValueError):
        DeadlineAdmissionFilter(reject_period=0.5)
    with pytest.raises(ValueError):
        DeadlineAdmissionFilter(max_reject_fraction=1.5)


# --- NACK admission -----------------------------------------------------------------------


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


class Backend:
    def __init__(self) -> None:
        self.nack = True
        self.calls = 0

    async def __call__(self, req: str) -> str:
        self.calls += 1
        if self.nack:
            raise Rejected("busy")
        return "ok"


async def call(service: Service[str, str]) -> str:
    try:
        return await service("x")
    except RpcError as exc:
        return "dropped" if exc.flags & Flags.NON_RETRYABLE else "nacked"


def nack_filter(clock: ManualClock, rng: random.Random) -> NackAdmissionFilter[str, str]:
    return NackAdmissionFilter(clock=clock, rng=rng)


async def test_the_accept_rate_ema_starts_at_one_and_falls_with_each_nack() -> None:
    clock = ManualClock()
    f = nack_filter(clock, FixedRandom(0.99))  # never below any drop probability
    backend = Backend()
    service = f.and_then(FnService(backend))
    assert f.accept_rate == 1.0
    expected = 1.0
    for i in range(50):
        clock.advance(0.1)
        assert await call(service) == "nacked"
        if i == 4:  # the fifth request within a second: the first nack that counts, and
            expected *= math.exp(-0.5 / 120.0)  # its weight covers the 0.5 s since the start
        elif i > 4:
            expected *= math.exp(-0.1 / 120.0)
        assert f.accept_rate == pytest.approx(expected, rel=1e-12)
    backend.nack = False
    clock.advance(30.0)
    await call(service)
    w30 = math.exp(-30.0 / 120.0)
    assert f.accept_rate == pytest.approx(1.0 * (1 - w30) + expected * w30, rel=1e-12)


async def test_nacks_below_five_requests_per_second_do_not_lower_the_ema() -> None:
    clock = ManualClock()
    f = nack_filter(clock, FixedRandom(0.99))
    service = f.and_then(FnService(Backend()))
    for _ in range(200):
        clock.advance(0.25)  # 4 per second
        assert await call(service) == "nacked"
    assert f.accept_rate == 1.0


async def drive_ema_below(
    f: NackAdmissionFilter[str, str], clock: ManualClock, target: float
) -> None:
    service = f.and_then(FnService(Backend()))
    while f.accept_rate >= target:
        clock.advance(0.1)
        await call(service)


async def test_a_request_is_dropped_exactly_when_the_draw_is_under_the_drop_probability() -> None:
    clock = ManualClock()
    rng = FixedRandom(0.99)
    f = nack_filter(clock, rng)
    await drive_ema_below(f, clock, 0.4)
    ema = f.accept_rate
    p = min(0.75, 1.0 - ema / 0.5)
    assert f.drop_probability() == pytest.approx(p)
    assert 0.2 < p < 0.75
    backend = Backend()
    backend.nack = False
    service = f.and_then(FnService(backend))
    rng.value = p - 1e-9
    with pytest.raises(Rejected) as info:
        await service("x")
    assert info.value.rejected and not info.value.retryable
    assert backend.calls == 0 and f.dropped_requests.value == 1
    rng.value = p + 1e-9
    assert await service("x") == "ok"
    assert backend.calls == 1


async def test_the_drop_rate_follows_the_ema_and_is_capped_at_three_quarters() -> None:
    clock = ManualClock()
    f = nack_filter(clock, random.Random(2024))
    assert f.drop_probability() == 0.0
    nacking = f.and_then(FnService(Backend()))  # at one instant, nacks leave the ema be
    for target in (0.3, 0.05):
        await drive_ema_below(f, clock, target)
        expected = min(0.75, 1 - f.accept_rate / 0.5)
        before = f.dropped_requests.value
        outcomes = [await call(nacking) for _ in range(4000)]
        dropped = f.dropped_requests.value - before
        assert outcomes.count("dropped") == dropped
        assert dropped / 4000 == pytest.approx(expected, abs=0.03)
    assert expected == 0.75  # 1 - 0.05/0.5 = 0.9, capped


async def test_no_request_is_dropped_while_the_accept_rate_is_above_half() -> None:
    clock = ManualClock()
    f = nack_filter(clock, FixedRandom(0.0))  # would drop anything with p > 0
    await drive_ema_below(f, clock, 0.51)
    assert f.accept_rate >= 0.5
    assert f.drop_probability() == 0.0
    backend = Backend()
    backend.nack = False
    assert await f.and_then(FnService(backend))("x") == "ok"


def test_the_nack_threshold_lies_strictly_between_zero_and_one() -> None:
    with pytest.raises(ValueError):
        NackAdmissionFilter(nack_rate_threshold=1.0)
    with pytest.raises(ValueError):
        NackAdmissionFilter(window=0)


def test_the_dropped_requests_stat_is_scoped_like_finagle() -> None:
    registry = MetricsRegistry()
    f: NackAdmissionFilter[str, str] = NackAdmissionFilter(
        StatsReceiver(registry).scope("clnt", "web")
    )
    assert registry.get("clnt/web/nack_admission_control/dropped_requests") is f.dropped_requests
