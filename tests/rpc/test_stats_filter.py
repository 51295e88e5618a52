"""StatsFilter: requests = success + failures, failure names, latency, pending, classifiers."""

from __future__ import annotations

import asyncio
import enum

import pytest

from roost.core.clock import ManualClock
from roost.rpc.errors import Rejected, RequestTimeout
from roost.rpc.service import FnService, Service
from roost.rpc.stats import Counter, Gauge, Histogram, MetricsRegistry, StatsReceiver, flat_json
from roost.rpc.stats_filter import Classifier, StatsFilter, exception_chain, outcome


class Boom(Exception):
    pass


def counters(registry: MetricsRegistry) -> dict[str, int]:
    return {n: m.value for n, m in registry if isinstance(m, Counter)}


def build(
    handler: FnService[str, str],
    classifier: Classifier | None = None,
    clock: ManualClock | None = None,
) -> tuple[Service[str, str], MetricsRegistry]:
    registry = MetricsRegistry()
    stats = StatsReceiver(registry).scope("clnt", "web")
    f: StatsFilter[str, str] = StatsFilter(stats, classifier, clock or ManualClock())
    return f.and_then(handler), registry


async def test_successes_and_failures_add_up_to_requests() -> None:
    async def handler(req: str) -> str:
        if req == "bad":
            raise Boom("no")
        return "ok"

    service, registry = build(FnService(handler))
    for req in ["a", "bad", "b", "bad", "c"]:
        try:
            await service(req)
        except Boom:
            pass
    assert counters(registry) == {
        "clnt/web/requests": 5,
        "clnt/web/success": 3,
        "clnt/web/failures": 2,
        "clnt/web/failures/Boom": 2,
    }


async def test_chained_exceptions_count_every_prefix_of_the_cause_chain() -> None:
    async def handler(req: str) -> str:
        try:
            raise ConnectionRefusedError("refused")
        except OSError as exc:
            raise RequestTimeout("gave up") from exc

    service, registry = build(FnService(handler))
    with pytest.raises(RequestTimeout):
        await service("x")
    assert counters(registry) == {
        "clnt/web/requests": 1,
        "clnt/web/success": 0,
        "clnt/web/failures": 1,
        "clnt/web/failures/RequestTimeout": 1,
        "clnt/web/failures/RequestTimeout/ConnectionRefusedError": 1,
    }


def test_the_cause_chain_follows_implicit_context_unless_suppressed() -> None:
    try:
        try:
            raise KeyError("k")
        except KeyError:
            raise Boom("while handling") from None
    except Boom as exc:
        assert exception_chain(exc) == ["Boom"]
    try:
        try:
            raise KeyError("k")
        except KeyError:
            raise Boom("while handling")  # noqa: B904
    except Boom as exc:
        assert exception_chain(exc) == ["Boom", "KeyError"]


async def test_latency_is_recorded_in_milliseconds_on_the_clock() -> None:
    clock = ManualClock()

    async def handler(req: str) -> str:
        clock.advance(float(req))
        return "ok"

    service, registry = build(FnService(handler), clock=clock)
    for seconds in ("0.012", "0.250"):
        await service(seconds)
    latency = registry.get("clnt/web/request_latency_ms")
    assert isinstance(latency, Histogram)
    assert latency.count == 2
    assert latency.min == pytest.approx(12.0)
    assert latency.max == pytest.approx(250.0)


async def test_pending_counts_requests_in_flight() -> None:
    release = asyncio.Event()

    async def handler(req: str) -> str:
        await release.wait()
        return "ok"

    service, registry = build(FnService(handler))
    pending = registry.get("clnt/web/pending")
    assert isinstance(pending, Gauge)
    tasks = [asyncio.create_task(service(str(i))) for i in range(3)]
    await asyncio.sleep(0)
    assert pending.value == 3
    release.set()
    await asyncio.gather(*tasks)
    assert pending.value == 0
    assert flat_json(registry)["clnt/web/pending"] == 0


async def test_a_classifier_can_fail_a_response_and_ignore_an_exception() -> None:
    async def handler(req: str) -> str:
        if req == "nack":
            raise Rejected("busy")
        return req

    def classify(req: str, result: object) -> str:
        if isinstance(result, Rejected):
            return "ignorable"
        return "failure" if result == "500" else "success"

    service, registry = build(FnService(handler), classify)
    for req in ["200", "500", "nack", "200"]:
        try:
            await service(req)
        except Rejected:
            pass
    assert counters(registry) == {
        "clnt/web/requests": 3,
        "clnt/web/success": 2,
        "clnt/web/failures": 1,
    }
    latency = registry.get("clnt/web/request_latency_ms")
    assert isinstance(latency, Histogram) and latency.count == 3


class ResponseClass(enum.Enum):
    SUCCESSFUL = "successful"
    RETRYABLE_FAILURE = "retryable_failure"
    NON_RETRYABLE_FAILURE = "non_retryable_failure"
    IGNORABLE = "ignorable"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("success", "success"),
        ("FAILURE", "failure"),
        ("ignorable", "ignorable"),
        (ResponseClass.SUCCESSFUL, "success"),
        (ResponseClass.RETRYABLE_FAILURE, "failure"),
        (ResponseClass.NON_RETRYABLE_FAILURE, "failure"),
        (ResponseClass.IGNORABLE, "ignorable"),
        (True, "success"),
        (False, "failure"),
        (None, None),
        ("maybe", None),
    ],
)
def test_classifier_answers_are_read_by_word_name_or_value(answer: object, expected: str) -> None:
    assert outcome(answer) == expected


async def test_a_classifier_that_says_nothing_or_raises_falls_back_to_the_default() -> None:
    async def handler(req: str) -> str:
        if req == "bad":
            raise Boom()
        return req

    def classify(req: str, result: object) -> object:
        if req == "raise":
            raise RuntimeError("classifier bug")
        return None

    service, registry = build(FnService(handler), classify)
    await service("raise")
    await service("fine")
    with pytest.raises(Boom):
        await service("bad")
    assert counters(registry) == {
        "clnt/web/requests": 3,
        "clnt/web/success": 2,
        "clnt/web/failures": 1,
        "clnt/web/failures/Boom": 1,
    }


async def test_a_cancelled_request_counts_as_a_failure_and_leaves_pending() -> None:
    async def handler(req: str) -> str:
        await asyncio.Event().wait()
        return "never"

    service, registry = build(FnService(handler))
    task = asyncio.create_task(service("x"))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert counters(registry)["clnt/web/failures/CancelledError"] == 1
    pending = registry.get("clnt/web/pending")
    assert isinstance(pending, Gauge) and pending.value == 0


def test_the_registry_does_not_keep_a_discarded_filter_alive() -> None:
    import gc
    import weakref

    registry = MetricsRegistry()
    f: StatsFilter[str, str] = StatsFilter(StatsReceiver(registry).scope("srv", "x"))
    f.pending = 2
    pending = registry.get("srv/x/pending")
    assert isinstance(pending, Gauge) and pending.value == 2
    ref = weakref.ref(f)
    del f
    gc.collect()
    assert ref() is None
    assert pending.value == 0
