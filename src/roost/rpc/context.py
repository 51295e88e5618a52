"""Request-scoped context in ``contextvars`` (Finagle's ``Contexts.broadcast``).

Each asyncio task copies the context it was created in, so a value set for one request (a
deadline, a local dtab, a trace id) follows that request through filters and into the tasks
it spawns, and is gone when the request's scope ends — like ``Dtab.unwind``. The HTTP
transport carries the broadcast values on the wire (``l5d-ctx-deadline``, ``l5d-ctx-dtab``,
``l5d-ctx-trace``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import TracebackType
from typing import Generic, TypeVar

from roost.core.clock import SYSTEM_CLOCK, Clock

NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a request was sent and when it must be done, in wall-clock nanoseconds since the
    epoch (Finagle ``Deadline(timestamp, deadline)``)."""

    timestamp_ns: int
    deadline_ns: int

    @staticmethod
    def of_timeout(seconds: float, clock: Clock = SYSTEM_CLOCK) -> Deadline:
        now = int(clock.time() * NS)
        return Deadline(now, now + int(seconds * NS))

    def combined(self, other: Deadline | None) -> Deadline:
        """The strictest of two: the later timestamp, the earlier deadline."""
        if other is None:
            return self
        return Deadline(
            max(self.timestamp_ns, other.timestamp_ns), min(self.deadline_ns, other.deadline_ns)
        )

    def remaining(self, clock: Clock = SYSTEM_CLOCK) -> float:
        """Seconds left (negative once expired)."""
        return (self.deadline_ns - clock.time() * NS) / NS

    def expired(self, clock: Clock = SYSTEM_CLOCK) -> bool:
        return self.remaining(clock) <= 0

    def to_header(self) -> str:
        """``l5d-ctx-deadline``: ``"<timestamp_ns> <deadline_ns>"``."""
        return f"{self.timestamp_ns} {self.deadline_ns}"

    @staticmethod
    def from_header(value: str) -> Deadline | None:
        """Parse ``l5d-ctx-deadline``; ``None`` for anything malformed (ignored, as upstream).
        Several comma-separated values combine to the strictest."""
        best: Deadline | None = None
        for part in value.split(","):
            fields = part.split()
            if len(fields) != 2:
                return None
            try:
                ts, dl = int(fields[0]), int(fields[1])
            except ValueError:
                return None
            if ts < 0 or dl < 0:
                return None
            best = Deadline(ts, dl).combined(best)
        return best


@dataclass(frozen=True, slots=True)
class TraceId:
    """Zipkin-style ids (64-bit ints); ``sampled`` is ``None`` when undecided."""

    trace_id: int
    span_id: int
    parent_id: int
    sampled: bool | None = None
    flags: int = 0
    trace_id_high: int = 0
    """The upper 64 bits of a 128-bit trace id (0 for 64-bit ids)."""


_deadline: ContextVar[Deadline | None] = ContextVar("roost_rpc_deadline", default=None)
_dtab: ContextVar[str] = ContextVar("roost_rpc_dtab", default="")
_trace: ContextVar[TraceId | None] = ContextVar("roost_rpc_trace", default=None)
_attempt: ContextVar[int] = ContextVar("roost_rpc_attempt", default=0)
_tried: ContextVar[int] = ContextVar("roost_rpc_tried", default=0)

T = TypeVar("T")


class _Scope(Generic[T]):
    """``with``: set a context variable, reset it on the way out. A class rather than a
    ``contextlib.contextmanager`` generator: scopes open on every request, several times,
    and a generator-based one costs several times as much."""

    __slots__ = ("_token", "_value", "_var")
    _token: Token[T]

    def __init__(self, var: ContextVar[T], value: T) -> None:
        self._var = var
        self._value = value

    def __enter__(self) -> None:
        self._token = self._var.set(self._value)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._var.reset(self._token)


def current_deadline() -> Deadline | None:
    return _deadline.get()


class _DeadlineScope(_Scope[Deadline | None]):
    __slots__ = ("_replace",)

    def __init__(self, deadline: Deadline | None, replace: bool) -> None:
        super().__init__(_deadline, deadline)
        self._replace = replace

    def __enter__(self) -> None:
        deadline = self._value
        if not self._replace:  # combined with the deadline current when the scope opens
            current = _deadline.get()
            deadline = current if deadline is None else deadline.combined(current)
        self._token = _deadline.set(deadline)


def deadline_scope(
    deadline: Deadline | None, *, replace: bool = False
) -> AbstractContextManager[None]:
    """Run with ``deadline`` combined (strictest wins) with the current one, or replacing it."""
    return _DeadlineScope(deadline, replace)


def local_dtab() -> str:
    """The request's local dtab as text (``Dtab.local``; parsed by ``roost.naming``)."""
    return _dtab.get()


def dtab_scope(dtab: str) -> AbstractContextManager[None]:
    return _Scope(_dtab, dtab)


def current_trace() -> TraceId | None:
    return _trace.get()


def trace_scope(trace: TraceId | None) -> AbstractContextManager[None]:
    return _Scope(_trace, trace)


def retry_attempt() -> int:
    """0 for the first try of a request, 1 for the first retry, …"""
    return _attempt.get()


def attempt_scope(attempt: int) -> AbstractContextManager[None]:
    return _Scope(_attempt, attempt)


def tried_before() -> int:
    """Retries of this request already made before it reached the retry filter below (the
    mesh's fast lane tried it once and hands it on to be tried again): that filter goes on
    counting from there."""
    return _tried.get()


def tried_scope(retries: int) -> AbstractContextManager[None]:
    return _Scope(_tried, retries)
