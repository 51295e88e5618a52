"""Per-request stats (Finagle ``StatsFilter``, metrics in ``BasicServiceMetrics``).

Under the receiver it is given (``clnt/<label>`` or ``srv/<label>``) it records:

* ``requests``, ``success``, ``failures`` — counted when a request completes, so
  ``requests == success + failures``; ignorable outcomes are in none of them;
* ``failures/<ExceptionClass>`` and, for chained exceptions, ``failures/<Class>/<CauseClass>…``
  (every prefix of the chain, as Finagle's rolled-up exception stats; the cause is
  ``__cause__``, else an unsuppressed ``__context__``; at most 5 deep);
* ``request_latency_ms`` — a histogram of non-ignorable requests, in milliseconds;
* ``pending`` — a gauge of requests in flight.

Classification: by default an exception is a failure and a response a success. A
``classifier(req, rep_or_exc)`` may decide otherwise (an HTTP 500 is a failure). It returns
one of ``"success"``, ``"failure"``, ``"ignorable"`` — or anything whose ``.name`` or ``.value``
is such a word (an enum such as ``roost.rpc.classifier.ResponseClass``); the word is read
case-insensitively by its start (``SUCCESSFUL``, ``FAILED``, ``RETRYABLE_FAILURE``/``…FAILURE``,
``IGNORABLE`` all work), and ``True``/``False`` mean success/failure. ``None``, an
unknown word or a classifier that raises fall back to the default. A classified failure with
no exception counts only ``failures``. The exception itself is always re-raised.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.rpc.classifier import ResponseClass
from roost.rpc.service import Filter, Rep, Req, Service
from roost.rpc.stats.histogram import Batch
from roost.rpc.stats.receiver import StatsReceiver

Classifier = Callable[[Any, Any], object]
"""``(request, response_or_exception) -> "success" | "failure" | "ignorable"`` (or an enum)."""

SUCCESS = "success"
FAILURE = "failure"
IGNORABLE = "ignorable"

_MAX_CHAIN = 5


def outcome(result: object) -> str | None:
    """Read a classifier's answer as ``"success"``/``"failure"``/``"ignorable"`` (``None``
    when it says nothing usable)."""
    if result is ResponseClass.SUCCESS:
        return SUCCESS  # what nearly every request answers: no reading of words
    if isinstance(result, bool):
        return SUCCESS if result else FAILURE
    for candidate in (result, getattr(result, "name", None), getattr(result, "value", None)):
        if isinstance(candidate, str):
            word = candidate.lower()
            if word.startswith("succe"):
                return SUCCESS
            if word.startswith("ignor"):
                return IGNORABLE
            if word.startswith("fail") or word.endswith("failure") or word.endswith("failed"):
                return FAILURE
    return None


def exception_chain(exc: BaseException) -> list[str]:
    """Class names of ``exc`` and its causes: ``["RequestTimeout", "TimeoutError"]``."""
    names: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and len(names) < _MAX_CHAIN and id(current) not in seen:
        seen.add(id(current))
        names.append(type(current).__name__)
        nxt = current.__cause__
        if nxt is None and not current.__suppress_context__:
            nxt = current.__context__
        current = nxt
    return names


class StatsFilter(Filter[Req, Rep, Req, Rep]):
    """Counts and times requests; see the module docstring for names and classification."""

    def __init__(
        self,
        stats_receiver: StatsReceiver,
        classifier: Classifier | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.stats = stats_receiver
        self.classifier = classifier
        self.clock = clock
        self.pending = 0
        self._requests = stats_receiver.counter("requests")
        self._success = stats_receiver.counter("success")
        self._failures = stats_receiver.counter("failures")
        self._latency = stats_receiver.stat("request_latency_ms")
        me = weakref.ref(self)  # the registry must not keep a discarded filter alive
        self._pending_gauge = stats_receiver.gauge(
            "pending", fn=lambda: f.pending if (f := me()) is not None else 0
        )

    def _classify(self, req: Req, result: object, default: str) -> str:
        if self.classifier is None:
            return default
        try:
            answer = outcome(self.classifier(req, result))
        except Exception:
            return default
        return default if answer is None else answer

    async def __call__(self, req: Req, service: Service[Req, Rep]) -> Rep:
        start = self.begin()
        try:
            rep = await service(req)
        except BaseException as exc:
            self.end(req, exc, start)
            raise
        self.end(req, rep, start)
        return rep

    def begin(self) -> float:
        """A request starts (it is pending); pass what this returns to :meth:`end`. For
        callers that cannot wrap the call in a coroutine (the mesh's fast lane)."""
        self.pending += 1
        return self.clock.monotonic()

    def drop(self) -> None:
        """A request :meth:`begin` started went elsewhere to be counted: no longer pending."""
        self.pending -= 1

    def end(self, req: Req, result: Rep | BaseException, start: float) -> None:
        """The request :meth:`begin` started is over: counted and timed as classified."""
        self.pending -= 1
        self._record(req, result, FAILURE if isinstance(result, BaseException) else SUCCESS, start)

    def leave(self, success: bool, latency_ms: float) -> None:
        """A request :meth:`begin` started is over, already classified by the caller (the
        mesh's fast lane, which knows its verdicts and the time)."""
        self.pending -= 1
        self._latency.add(latency_ms)
        self._requests.incr()
        if success:
            self._success.incr()
        else:
            self._failures.incr()

    def leave_all(self, successes: Batch) -> None:
        """:meth:`leave` for many successful requests at once, their latencies summarised
        in ``successes`` (the fast lane's bulk bookkeeping)."""
        n = successes.count
        self.pending -= n
        self._latency.merge(successes)
        self._requests.incr(n)
        self._success.incr(n)

    def _record(self, req: Req, result: object, default: str, start: float) -> None:
        kind = self._classify(req, result, default)
        if kind == IGNORABLE:
            return
        self._latency.add((self.clock.monotonic() - start) * 1000.0)
        self._requests.incr()
        if kind == SUCCESS:
            self._success.incr()
            return
        self._failures.incr()
        if isinstance(result, BaseException):
            chain = exception_chain(result)
            for depth in range(1, len(chain) + 1):
                self.stats.counter("failures", *chain[:depth]).incr()
