"""Timeouts and deadlines (Finagle ``TimeoutFilter.scala``, ``Deadline.scala``).

:class:`TimeoutFilter` bounds one attempt (Linkerd ``requestAttemptTimeoutMs``, under the
retry filters); :class:`TotalTimeoutFilter` bounds a whole call, retries included (Linkerd
``totalTimeoutMs``, above the retry filter). Both:

* propagate the deadline: what runs below sees the strictest of ``now + timeout`` and the
  inherited :class:`~roost.rpc.context.Deadline` (the HTTP transport writes it as
  ``l5d-ctx-deadline``);
* honour an inherited deadline: when it is stricter than the timeout, the call gets only the
  time the deadline has left, and a deadline already past fails at once with
  :class:`~roost.rpc.errors.DeadlineExceeded` without calling the service — unless made with
  ``honour_deadline=False`` (the mesh: Linkerd's deadlines are advisory);
* on expiry cancel the call in flight (the inner coroutine sees ``CancelledError``) and raise
  :class:`~roost.rpc.errors.RequestTimeout` (:class:`~roost.rpc.errors.TotalTimeout`), which
  carries no flags: it is not retried unless a classifier says so.

Deadlines are computed on the injected clock (wall time, nanoseconds); the timeout itself is
enforced by the event loop's timer (``asyncio.timeout``).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine
from typing import Any, ClassVar

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.rpc.context import NS, Deadline, current_deadline, deadline_scope
from roost.rpc.errors import DeadlineExceeded, RequestTimeout, TotalTimeout
from roost.rpc.service import Filter, Rep, Req, Service


class TimeoutFilter(Filter[Req, Rep, Req, Rep]):
    """Fail one attempt with :class:`RequestTimeout` after ``seconds`` (or at the inherited
    deadline if that comes first); ``propagate`` sets the deadline for what runs below."""

    error: ClassVar[type[RequestTimeout]] = RequestTimeout
    what: ClassVar[str] = "request"

    def __init__(
        self,
        seconds: float,
        clock: Clock = SYSTEM_CLOCK,
        propagate: bool = True,
        *,
        honour_deadline: bool = True,
    ) -> None:
        """``honour_deadline=False``: an inherited deadline is *advisory* (Linkerd's): it is
        still passed on (the stricter of it and ours) but never shortens our timeout."""
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(
                f"{type(self).__name__}: seconds must be a finite number greater than 0, "
                f"got {seconds!r}"
            )
        self.seconds = seconds
        self.clock = clock
        self.propagate = propagate
        self.honour_deadline = honour_deadline

    async def __call__(self, req: Req, service: Service[Req, Rep]) -> Rep:
        now_ns = int(self.clock.time() * NS)
        mine = Deadline(now_ns, now_ns + int(self.seconds * NS))
        inherited = current_deadline()
        timeout = self.seconds
        from_deadline = False
        if not self.honour_deadline:
            if inherited is not None and inherited.deadline_ns < mine.deadline_ns:
                mine = inherited  # passed on as it came: the stricter one
        elif inherited is not None and inherited.deadline_ns < mine.deadline_ns:
            from_deadline = True
            timeout = (inherited.deadline_ns - now_ns) / NS
            if timeout <= 0:
                raise DeadlineExceeded(f"deadline passed {-timeout:.3f} s before the {self.what}")
        with deadline_scope(mine if self.propagate else None):
            scope = asyncio.timeout(timeout)
            try:
                async with scope:
                    return await service(req)
            except TimeoutError:
                if not scope.expired():
                    raise
                if from_deadline:
                    message = f"{self.what} reached its deadline after {timeout:.3f} s"
                else:
                    message = f"{self.what} timed out after {self.seconds:g} s"
                raise self.error(message) from None


class TotalTimeoutFilter(TimeoutFilter[Req, Rep]):
    """Fail a whole call, retries included, with :class:`TotalTimeout` after ``seconds``;
    place it above the retry filter."""

    error = TotalTimeout
    what = "call"


class DeadlineFilter(Filter[Req, Rep, Req, Rep]):
    """Honour an inherited deadline where no timeout of our own is set (the place of
    :class:`TotalTimeoutFilter` in a client without ``total_timeout``): a deadline already
    past fails at once with :class:`~roost.rpc.errors.DeadlineExceeded` without calling the
    service, and the call in flight is cancelled when the deadline comes."""

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock

    def __call__(self, req: Req, service: Service[Req, Rep]) -> Coroutine[Any, Any, Rep]:
        inherited = current_deadline()
        if inherited is None:
            return service(req)  # no deadline: no frame of ours on the request's path
        return self._bounded(req, service, inherited)

    async def _bounded(self, req: Req, service: Service[Req, Rep], inherited: Deadline) -> Rep:
        left = (inherited.deadline_ns - int(self.clock.time() * NS)) / NS
        if left <= 0:
            raise DeadlineExceeded(f"deadline passed {-left:.3f} s before the call")
        scope = asyncio.timeout(left)
        try:
            async with scope:
                return await service(req)
        except TimeoutError:
            if not scope.expired():
                raise
            raise DeadlineExceeded(f"call reached its deadline after {left:.3f} s") from None
