"""RequeueFilter and RetryFilter on in-memory services and a virtual clock."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from roost.core.clock import ManualClock
from roost.rpc.backoff import const, exponential
from roost.rpc.budget import RetryBudget
from roost.rpc.classifier import (
    ResponseClass,
    retryable_read_5xx,
    server_errors_as_failures,
)
from roost.rpc.context import retry_attempt, tried_before, tried_scope
from roost.rpc.errors import (
    ChannelClosed,
    ConnectionFailed,
    Flags,
    Interrupted,
    Rejected,
    RequestTimeout,
    RpcError,
)
from roost.rpc.http.message import Request, Response
from roost.rpc.retries import RequeueFilter, RetryFilter, RetryPolicy, RetryStats
from roost.rpc.service import FnService, ServiceBase, Status


class Backend(ServiceBase[object, str]):
    """Fails with ``errors`` in order (an exception instance or a factory), then answers "ok"."""

    def __init__(
        self,
        errors: list[Exception | Callable[[], Exception]] | None = None,
        always: Callable[[], Exception] | None = None,
    ) -> None:
        self.errors = list(errors or [])
        self.always = always
        self.calls = 0
        self.attempts: list[int] = []
        self.state = Status.OPEN

    @property
    def status(self) -> Status:
        return self.state

    async def __call__(self, req: object) -> str:
        self.calls += 1
        self.attempts.append(retry_attempt())
        if self.always is not None:
            raise self.always()
        if self.errors:
            err = self.errors.pop(0)
            raise err if isinstance(err, Exception) else err()
        return "ok"


@dataclass
class Sleeps:
    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def budget(**kwargs: float) -> RetryBudget:
    return RetryBudget(clock=ManualClock(), **kwargs)  # type: ignore[arg-type]


async def _chunks() -> AsyncIterator[bytes]:
    yield b"x"


# --- RequeueFilter ------------------------------------------------------------------------


async def test_requeue_resends_failures_that_never_reached_the_server() -> None:
    b = budget()
    backend = Backend([ConnectionFailed(), Rejected()])
    f: RequeueFilter[object, str] = RequeueFilter(b)
    assert await f.and_then(backend)("req") == "ok"
    assert backend.calls == 3
    assert f.stats.requeues == 2
    assert f.stats.requeues_per_request == {2: 1}
    # two withdrawals of 5000 tokens, one deposit of 1000 on success: (500000-10000+1000)/5000
    assert b.balance == 98


async def test_requeues_per_request_are_limited_to_twenty_percent_of_the_balance_at_the_start() -> (
    None
):
    b = budget()  # balance 100 -> ceil(0.2 * 100) = 20 requeues, even as the balance drops
    backend = Backend(always=ConnectionFailed)
    f: RequeueFilter[object, str] = RequeueFilter(b)
    with pytest.raises(ConnectionFailed) as info:
        await f.and_then(backend)("req")
    assert backend.calls == 21
    assert (f.stats.requeues, f.stats.request_limit) == (20, 1)
    assert info.value.retryable  # the per-request limit leaves the flags alone
    assert b.balance == 80


async def test_requeue_limit_rounds_up() -> None:
    b = budget(ttl=1.0, min_retries_per_sec=7)  # balance 7 -> ceil(1.4) = 2
    backend = Backend(always=ConnectionFailed)
    f: RequeueFilter[object, str] = RequeueFilter(b)
    with pytest.raises(ConnectionFailed):
        await f.and_then(backend)("req")
    assert backend.calls == 3


async def test_an_empty_budget_never_requeues() -> None:
    backend = Backend(always=ConnectionFailed)
    f: RequeueFilter[object, str] = RequeueFilter(RetryBudget.empty())
    with pytest.raises(ConnectionFailed):
        await f.and_then(backend)("req")
    assert backend.calls == 1
    assert f.stats.request_limit == 1


async def test_requeue_only_while_the_service_is_open() -> None:
    backend = Backend(always=ConnectionFailed)
    backend.state = Status.BUSY
    f: RequeueFilter[object, str] = RequeueFilter(budget())
    with pytest.raises(ConnectionFailed) as info:
        await f.and_then(backend)("req")
    assert backend.calls == 1
    assert f.stats.not_open == 1
    assert info.value.retryable


@pytest.mark.parametrize(
    "error",
    [
        ChannelClosed(),
        RequestTimeout(),
        Interrupted(),
        ConnectionFailed(flags=Flags.RETRYABLE | Flags.INTERRUPTED),
        Rejected(flags=Flags.REJECTED | Flags.RETRYABLE | Flags.NON_RETRYABLE),
        RuntimeError("not ours"),
    ],
)
async def test_requeue_never_resends_failures_that_may_have_reached_the_server_or_are_flagged(
    error: Exception,
) -> None:
    backend = Backend([error])
    f: RequeueFilter[object, str] = RequeueFilter(budget())
    with pytest.raises(type(error)):
        await f.and_then(backend)("req")
    assert backend.calls == 1
    assert f.stats.requeues == 0


async def test_budget_exhaustion_flags_the_failure_non_retryable() -> None:
    b = budget(ttl=1.0, min_retries_per_sec=1)  # one retry in the budget: limit ceil(0.2) = 1

    def drained_by_another_request() -> Exception:
        assert b.try_withdraw()
        return ConnectionFailed()

    backend = Backend([drained_by_another_request, ConnectionFailed()])
    f: RequeueFilter[object, str] = RequeueFilter(b)
    with pytest.raises(ConnectionFailed) as info:
        await f.and_then(backend)("req")
    assert backend.calls == 1
    assert f.stats.budget_exhausted == 1
    assert info.value.flags & Flags.NON_RETRYABLE
    assert not info.value.retryable


async def test_requeue_deposits_only_when_the_final_outcome_is_a_success() -> None:
    b = budget(min_retries_per_sec=0, percent_can_retry=1000.0)  # 1 token a retry, 1000 a deposit
    http = RequeueFilter[Request, Response](b, classifier=server_errors_as_failures)

    async def answer(req: Request) -> Response:
        if req.target == "/boom":
            raise ChannelClosed()
        return Response(status=500 if req.target == "/500" else 200)

    svc = http.and_then(FnService(answer))
    await svc(Request(target="/"))
    assert b.balance == 1000
    await svc(Request(target="/500"))
    with pytest.raises(ChannelClosed):
        await svc(Request(target="/boom"))
    assert b.balance == 1000


async def test_streamed_requests_are_never_requeued() -> None:
    backend = Backend([ConnectionFailed()])
    f: RequeueFilter[object, str] = RequeueFilter(budget())
    with pytest.raises(ConnectionFailed):
        await f.and_then(backend)(Request(method="POST", body=_chunks()))
    assert backend.calls == 1
    assert f.stats.cannot_retry == 1
    assert await f.and_then(Backend([ConnectionFailed()]))(Request(body=b"fixed")) == "ok"


async def test_requeues_are_immediate_unless_given_a_backoff() -> None:
    sleeps = Sleeps()
    f: RequeueFilter[object, str] = RequeueFilter(budget(), sleep=sleeps)
    await f.and_then(Backend([ConnectionFailed()]))("req")
    assert sleeps.delays == []
    g: RequeueFilter[object, str] = RequeueFilter(budget(), backoff=const(0.5), sleep=sleeps)
    await g.and_then(Backend([ConnectionFailed(), ConnectionFailed()]))("req")
    assert sleeps.delays == [0.5, 0.5]


def test_requeue_filter_refuses_a_negative_fraction() -> None:
    with pytest.raises(ValueError, match="max_requeues_per_req must be a finite number at least 0"):
        RequeueFilter(budget(), max_requeues_per_req=-0.1)


# --- RetryFilter --------------------------------------------------------------------------


async def test_retry_filter_retries_retryable_failures_each_under_its_attempt_number() -> None:
    backend = Backend([ConnectionFailed(), Rejected()])
    f: RetryFilter[object, str] = RetryFilter(budget=budget())
    assert await f.and_then(backend)("req") == "ok"
    assert backend.attempts == [0, 1, 2]
    assert f.stats.retries == 2
    assert f.stats.retries_per_request == {2: 1}
    assert retry_attempt() == 0


async def test_retry_filter_deposits_once_per_logical_request_before_dispatch() -> None:
    b = budget(min_retries_per_sec=0, percent_can_retry=1000.0)
    seen: list[int] = []

    def observe() -> Exception:
        seen.append(b.balance)
        return ConnectionFailed()

    f: RetryFilter[object, str] = RetryFilter(budget=b)
    await f.and_then(Backend([observe, observe]))("req")
    assert seen == [1000, 999]
    assert b.balance == 998


async def test_retry_filter_stops_at_max_retries() -> None:
    backend = Backend(always=ConnectionFailed)
    f: RetryFilter[object, str] = RetryFilter(RetryPolicy(3), budget=budget())
    with pytest.raises(ConnectionFailed) as info:
        await f.and_then(backend)("req")
    assert backend.calls == 4
    assert f.stats.request_limit == 1
    assert info.value.retryable


async def test_retry_filter_stops_when_the_budget_is_exhausted_and_flags_the_failure() -> None:
    b = budget(ttl=1.0, min_retries_per_sec=1, percent_can_retry=0.0)  # exactly one retry
    backend = Backend(always=ConnectionFailed)
    f: RetryFilter[object, str] = RetryFilter(RetryPolicy(10), budget=b)
    with pytest.raises(ConnectionFailed) as info:
        await f.and_then(backend)("req")
    assert backend.calls == 2
    assert f.stats.budget_exhausted == 1
    assert not info.value.retryable
    assert info.value.flags & Flags.NON_RETRYABLE


async def test_retry_filter_retries_responses_the_classifier_calls_retryable() -> None:
    answers = iter([503, 502, 200])

    async def flaky(req: Request) -> Response:
        return Response(status=next(answers))

    f = RetryFilter[Request, Response](RetryPolicy(5), retryable_read_5xx, budget(), const(0.0))
    rep = await f.and_then(FnService(flaky))(Request(method="GET"))
    assert rep.status == 200
    assert f.stats.retries == 2

    posts = iter([503, 200])

    async def post(req: Request) -> Response:
        return Response(status=next(posts))

    rep = await f.and_then(FnService(post))(Request(method="POST"))
    assert rep.status == 503


async def test_an_exhausted_budget_returns_the_retryable_response() -> None:
    async def down(req: Request) -> Response:
        return Response(status=503)

    f = RetryFilter[Request, Response](RetryPolicy(5), retryable_read_5xx, RetryBudget.empty())
    rep = await f.and_then(FnService(down))(Request())
    assert rep.status == 503
    assert f.stats.budget_exhausted == 1


async def test_retry_filter_sleeps_the_backoff_between_tries() -> None:
    sleeps = Sleeps()
    backend = Backend(always=ConnectionFailed)
    f: RetryFilter[object, str] = RetryFilter(
        RetryPolicy(3), budget=budget(), backoff=exponential(0.1, 2), sleep=sleeps
    )
    with pytest.raises(ConnectionFailed):
        await f.and_then(backend)("req")
    assert sleeps.delays == [0.1, 0.2, 0.4]
    with pytest.raises(ConnectionFailed):
        await f.and_then(backend)("req")
    assert sleeps.delays == [0.1, 0.2, 0.4, 0.1, 0.2, 0.4]  # each request starts the backoff again


async def test_a_finite_backoff_ends_retrying() -> None:
    backend = Backend(always=ConnectionFailed)
    f: RetryFilter[object, str] = RetryFilter(
        RetryPolicy(5), budget=budget(), backoff=[0.0], sleep=Sleeps()
    )
    with pytest.raises(ConnectionFailed):
        await f.and_then(backend)("req")
    assert backend.calls == 2


async def test_timeouts_are_not_retried_by_default() -> None:
    backend = Backend(always=RequestTimeout)
    f: RetryFilter[object, str] = RetryFilter(budget=budget())
    with pytest.raises(RequestTimeout):
        await f.and_then(backend)("req")
    assert backend.calls == 1


async def test_timeouts_are_retried_when_the_classifier_says_so() -> None:
    def timeouts_retryable(req: object, result: object) -> ResponseClass:
        return ResponseClass.failed(isinstance(result, RpcError))

    backend = Backend([RequestTimeout()])
    f: RetryFilter[object, str] = RetryFilter(classifier=timeouts_retryable, budget=budget())
    assert await f.and_then(backend)("req") == "ok"
    assert backend.calls == 2


@pytest.mark.parametrize(
    "error", [Interrupted(), ConnectionFailed(flags=Flags.RETRYABLE | Flags.NON_RETRYABLE)]
)
async def test_interrupted_and_non_retryable_failures_are_never_retried(error: RpcError) -> None:
    def everything_retryable(req: object, result: object) -> ResponseClass:
        return ResponseClass.RETRYABLE_FAILURE

    backend = Backend([error])
    f: RetryFilter[object, str] = RetryFilter(classifier=everything_retryable, budget=budget())
    with pytest.raises(type(error)):
        await f.and_then(backend)("req")
    assert backend.calls == 1


async def test_streamed_requests_are_never_retried() -> None:
    backend = Backend([ConnectionFailed()])
    f: RetryFilter[object, str] = RetryFilter(budget=budget())
    with pytest.raises(ConnectionFailed):
        await f.and_then(backend)(Request(method="PUT", body=_chunks()))
    assert backend.calls == 1
    assert f.stats.cannot_retry == 1


async def test_a_cancelled_call_is_not_retried() -> None:
    started = asyncio.Event()
    calls = 0

    class Hangs(ServiceBase[object, str]):
        async def __call__(self, req: object) -> str:
            nonlocal calls
            calls += 1
            started.set()
            await asyncio.Event().wait()
            return "never"

    f: RetryFilter[object, str] = RetryFilter(budget=budget())
    task = asyncio.create_task(f.and_then(Hangs())("req"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls == 1


async def test_a_requeue_filter_under_a_retry_filter_shares_one_deposit() -> None:
    b = budget(min_retries_per_sec=0, percent_can_retry=1000.0)
    stats = RetryStats()
    stack = RetryFilter[object, str](budget=b).and_then(
        RequeueFilter[object, str](b.withdraw_only(), stats=stats)
    )
    backend = Backend([ConnectionFailed()])
    assert await stack.and_then(backend)("req") == "ok"
    assert stats.requeues == 1
    assert b.balance == 1000 - 1  # one deposit (retry filter), one withdrawal (requeue)


def test_retry_policy_refuses_negative_max_retries() -> None:
    with pytest.raises(ValueError, match=r"RetryPolicy\.max_retries must be at least 0, got -1"):
        RetryPolicy(-1)
    with pytest.raises(ValueError, match="at least 1 try"):
        RetryPolicy.tries(0)


def test_retry_policy_tries_uses_finagles_default_backoff() -> None:
    policy = RetryPolicy.tries(3)
    assert policy.max_retries == 2
    delays = list(itertools.islice(iter(policy.backoff), 50))
    assert all(0.005 <= d <= 0.2 for d in delays)  # decorrelated jittered 5 ms .. 200 ms


# --- the retry storm ----------------------------------------------------------------------


class Unlimited:
    """A budget that always allows: naive retries."""

    def deposit(self) -> None:
        pass

    def try_withdraw(self) -> bool:
        return True

    @property
    def balance(self) -> int:
        return 1_000_000


async def run_storm(
    make_filter: Callable[[ManualClock], RetryFilter[object, str]],
) -> tuple[int, int]:
    """100 requests/s for 60 virtual seconds against a backend failing every request with a
    retryable error; returns (client requests, backend requests)."""
    clock = ManualClock()
    backend = Backend(always=ConnectionFailed)
    client = make_filter(clock).and_then(backend)
    sent = 0
    for _ in range(60 * 100):
        with pytest.raises(ConnectionFailed):
            await client("req")
        sent += 1
        clock.advance(0.01)
    return sent, backend.calls


async def test_retry_storm_is_bounded_by_the_budget() -> None:
    sent, seen = await run_storm(
        lambda clock: RetryFilter(RetryPolicy(3), budget=RetryBudget(clock=clock))
    )
    assert sent == 6000
    # at most 20 % of the requests plus the floor of 10 retries/s
    assert seen <= 1.2 * sent + 10 * 60
    # and the budget is spent, not starved: nearly all of both allowances
    assert seen >= 1.2 * sent + 0.9 * 10 * 60


async def test_naive_retries_quadruple_the_load_of_a_failing_backend() -> None:
    sent, seen = await run_storm(lambda clock: RetryFilter(RetryPolicy(3), budget=Unlimited()))
    assert seen == 4 * sent == 24_000


@pytest.mark.parametrize(("tried", "calls", "attempts"), [(0, 4, [0, 1, 2, 3]), (1, 3, [1, 2, 3])])
async def test_retry_filter_goes_on_from_the_tries_a_caller_already_made(
    tried: int, calls: int, attempts: list[int]
) -> None:
    """The mesh's fast lane tried a request once and hands it on: the retry filter counts
    that try (retries per request, the limit, the backoff's place) and no filter below it
    sees the lane's count."""
    backend = Backend(always=ConnectionFailed)
    sleeps = Sleeps()
    f: RetryFilter[object, str] = RetryFilter(
        RetryPolicy(3), budget=budget(), backoff=exponential(1.0, 2.0), sleep=sleeps
    )
    seen_below: list[int] = []

    async def below(req: object) -> str:
        seen_below.append(tried_before())
        return await backend(req)

    with tried_scope(tried):
        with pytest.raises(ConnectionFailed):
            await f.and_then(FnService(below))("req")
        assert tried_before() == tried  # the caller's scope, as it was
    assert seen_below == [0] * calls
    assert backend.calls == calls
    assert backend.attempts == attempts
    assert f.stats.retries_per_request == {3: 1}
    assert sleeps.delays == [1.0, 2.0, 4.0]  # the caller's retry waits as the others do
