"""FailureAccrualFactory: every transition of Alive -> Dead -> ProbeOpen -> ProbeClosed, on a
virtual clock (timers are read lazily, so nothing sleeps)."""

from __future__ import annotations

import asyncio

import pytest

from roost.core.clock import ManualClock
from roost.rpc.accrual import (
    FailureAccrualFactory,
    FailureAccrualPolicy,
    Outcome,
    State,
    consecutive_failures,
    default_classifier,
)
from roost.rpc.errors import ConnectionFailed
from roost.rpc.service import FactoryToService, FnService, Service, Status


class Endpoint:
    """The underlying factory: answers ``req`` back, raises for ``"fail"``, hangs for ``"hang"``."""

    def __init__(self) -> None:
        self.healthy = Status.OPEN
        self.refuse = False
        self.acquired = 0
        self.closed = False

    async def acquire(self) -> Service[str, str]:
        if self.refuse:
            raise ConnectionFailed("refused")
        self.acquired += 1

        async def answer(req: str) -> str:
            if req == "fail":
                raise RuntimeError("boom")
            if req == "hang":
                await asyncio.Event().wait()
            return req

        return FnService(answer)

    @property
    def status(self) -> Status:
        return self.healthy

    async def close(self) -> None:
        self.closed = True


def accrual(
    n: int = 2, backoff: list[float] | None = None, **kwargs: object
) -> tuple[FailureAccrualFactory[str, str], Endpoint, ManualClock]:
    clock = ManualClock()
    endpoint = Endpoint()
    factory: FailureAccrualFactory[str, str] = FailureAccrualFactory(
        endpoint,
        consecutive_failures(n, backoff if backoff is not None else [5.0, 10.0, 20.0]),
        clock,
        **kwargs,  # type: ignore[arg-type]
    )
    return factory, endpoint, clock


async def call(factory: FailureAccrualFactory[str, str], req: str) -> str | None:
    try:
        return await FactoryToService(factory)(req)
    except (RuntimeError, ConnectionFailed):
        return None


async def kill(factory: FailureAccrualFactory[str, str], n: int = 2) -> None:
    for _ in range(n):
        await call(factory, "fail")
    assert factory.state is State.DEAD


async def test_an_endpoint_stays_alive_while_failures_do_not_reach_the_policy_limit() -> None:
    factory, _, _ = accrual(n=3)
    for _ in range(10):
        await call(factory, "fail")
        await call(factory, "fail")
        assert await call(factory, "ok") == "ok"
    assert factory.state is State.ALIVE
    assert factory.status is Status.OPEN
    assert factory.removals == 0


async def test_alive_to_dead_when_the_policy_says_so_and_dead_is_busy() -> None:
    factory, _, clock = accrual()
    await kill(factory)
    assert factory.status is Status.BUSY
    assert factory.removals == 1
    assert factory.removed_for_ms == 5000
    assert factory.dead_until == clock.monotonic() + 5.0


async def test_dead_to_probe_open_once_the_mark_dead_duration_has_passed() -> None:
    factory, endpoint, clock = accrual()
    await kill(factory)
    clock.advance(4.999)
    assert factory.state is State.DEAD
    clock.advance(0.001)
    assert factory.state is State.PROBE_OPEN
    assert factory.probes == 1
    assert factory.status is Status.OPEN  # the underlying's status
    endpoint.healthy = Status.BUSY
    assert factory.status is Status.BUSY


async def test_the_first_request_in_probe_open_closes_the_probe() -> None:
    factory, _, clock = accrual()
    await kill(factory)
    clock.advance(5.0)
    session = await factory.acquire()
    assert factory.state is State.PROBE_CLOSED
    assert factory.status is Status.BUSY  # no further requests while the probe is out
    await session.close()


async def test_a_successful_probe_revives_the_endpoint_and_the_policy() -> None:
    factory, _, clock = accrual()
    await kill(factory)
    clock.advance(5.0)
    assert await call(factory, "ok") == "ok"
    assert factory.state is State.ALIVE
    assert factory.revivals == 1
    await call(factory, "fail")
    assert factory.state is State.ALIVE  # the failure count started over
    await call(factory, "fail")
    assert factory.state is State.DEAD
    assert factory.dead_until == clock.monotonic() + 5.0  # and so did the backoff


async def test_a_failed_probe_marks_dead_again_for_the_next_longer_duration() -> None:
    factory, _, clock = accrual()
    await kill(factory)
    clock.advance(5.0)
    await call(factory, "fail")
    assert factory.state is State.DEAD
    assert factory.dead_until == clock.monotonic() + 10.0
    clock.advance(10.0)
    await call(factory, "fail")
    assert factory.dead_until == clock.monotonic() + 20.0
    assert (factory.removals, factory.removed_for_ms, factory.probes) == (3, 35_000, 2)


async def test_an_ignorable_probe_opens_the_probe_again() -> None:
    def classify(req: object, rep: object) -> Outcome:
        return "ignorable" if rep == "meh" else default_classifier(req, rep)

    factory, _, clock = accrual(classifier=classify)
    await kill(factory)
    clock.advance(5.0)
    assert await call(factory, "meh") == "meh"
    assert factory.state is State.PROBE_OPEN
    assert factory.probes == 2
    assert await call(factory, "ok") == "ok"
    assert factory.state is State.ALIVE


class ScriptedPolicy(FailureAccrualPolicy):
    """Answers failures from a script of durations (None: stay alive)."""

    def __init__(self, *answers: float | None) -> None:
        self.answers = list(answers)

    def record_success(self, now: float) -> None:
        pass

    def mark_dead_on_failure(self, now: float) -> float | None:
        return self.answers.pop(0)

    def revived(self) -> None:
        pass


async def test_a_failed_probe_the_policy_declines_to_mark_dead_is_probed_again() -> None:
    clock = ManualClock()
    factory: FailureAccrualFactory[str, str] = FailureAccrualFactory(
        Endpoint(), ScriptedPolicy(5.0, None), clock
    )
    await call(factory, "fail")
    assert factory.state is State.DEAD
    clock.advance(5.0)
    await call(factory, "fail")
    assert factory.state is State.PROBE_OPEN
    assert factory.probes == 2


async def test_a_failed_acquisition_counts_as_a_failure() -> None:
    factory, endpoint, clock = accrual()
    endpoint.refuse = True
    for _ in range(2):
        with pytest.raises(ConnectionFailed):
            await factory.acquire()
    assert factory.state is State.DEAD
    clock.advance(5.0)
    with pytest.raises(ConnectionFailed):
        await factory.acquire()  # the probe: refused again
    assert factory.state is State.DEAD
    assert factory.dead_until == clock.monotonic() + 10.0


async def test_a_dead_endpoint_still_serves_requests_and_their_failures_do_not_extend_it() -> None:
    factory, _, clock = accrual()
    await kill(factory)
    assert await call(factory, "ok") == "ok"  # fails open: a panicking balancer may send
    await call(factory, "fail")
    assert factory.removals == 1
    assert factory.dead_until == clock.monotonic() + 5.0
    assert factory.state is State.DEAD


async def test_a_session_closed_unused_or_cancelled_gives_the_probe_back() -> None:
    factory, _, clock = accrual()
    await kill(factory)
    clock.advance(5.0)
    session = await factory.acquire()
    await session.close()
    assert factory.state is State.PROBE_OPEN
    session = await factory.acquire()
    task = asyncio.create_task(session("hang"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert factory.state is State.PROBE_OPEN
    await session.close()


async def test_when_the_backoff_runs_out_the_endpoint_is_marked_dead_for_300_seconds() -> None:
    factory, _, clock = accrual(backoff=[1.0])
    await kill(factory)
    clock.advance(1.0)
    await call(factory, "fail")
    assert factory.dead_until == clock.monotonic() + 300.0


async def test_or_else_marks_dead_for_the_longer_of_the_two_durations() -> None:
    clock = ManualClock()
    policy = consecutive_failures(2, [5.0, 6.0]).or_else(consecutive_failures(3, [60.0]))
    factory: FailureAccrualFactory[str, str] = FailureAccrualFactory(Endpoint(), policy, clock)
    await call(factory, "fail")
    await call(factory, "fail")
    assert factory.dead_until == clock.monotonic() + 5.0
    clock.advance(5.0)
    await call(factory, "fail")  # the probe fails: 6 s from the first, 60 s from the second
    assert factory.dead_until == clock.monotonic() + 60.0


async def test_a_classifier_can_call_a_returned_response_a_failure() -> None:
    def classify(req: object, rep: object) -> Outcome:
        return "failure" if rep == "500" else default_classifier(req, rep)

    factory, _, _ = accrual(classifier=classify)
    await call(factory, "500")
    await call(factory, "500")
    assert factory.state is State.DEAD


async def test_a_classifier_that_raises_falls_back_to_the_default() -> None:
    def broken(req: object, rep: object) -> Outcome:
        raise KeyError(req)

    factory, _, _ = accrual(classifier=broken)
    assert await call(factory, "ok") == "ok"
    await kill(factory)


async def test_a_closed_underlying_factory_reports_closed_even_while_dead() -> None:
    factory, endpoint, _ = accrual()
    await kill(factory)
    endpoint.healthy = Status.CLOSED
    assert factory.status is Status.CLOSED
    await factory.close()
    assert endpoint.closed


def test_the_default_policy_is_five_consecutive_failures() -> None:
    factory: FailureAccrualFactory[str, str] = FailureAccrualFactory(Endpoint())
    assert getattr(factory.policy, "n", None) == 5
