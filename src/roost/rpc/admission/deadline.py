"""Reject requests whose deadline has already passed (Finagle ``DeadlineFilter``).

If the request context's deadline (:func:`~roost.rpc.context.current_deadline`, from
``l5d-ctx-deadline``) is in the past, the request is refused with
:class:`~roost.rpc.errors.DeadlineExceeded` (REJECTED|NON_RETRYABLE) — but at most
``max_reject_fraction`` (0.2) of requests over ``reject_period`` (10 s) are, so a burst of
late requests cannot shut a server down. The cap is a leaky token bucket (reserve 0) of its
own: every serviced request deposits 1000 tokens, every rejection withdraws
``1000 / max_reject_fraction`` (5000), and tokens expire after ``reject_period``. So at most
one rejection per five serviced requests.

``dark_mode=True`` (the default, as upstream) rejects nothing: it keeps the same books —
``rejected`` counts what would have been rejected, and such requests deposit nothing — so
the counts show what enforcing would do. Stats under ``admission_control/deadline``:
counters ``exceeded`` (expired on arrival) and ``rejected``, histograms ``expired_ms`` (how
late) and ``remaining_ms`` (time left on requests still in time); also attributes.
"""

from __future__ import annotations

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.rpc.context import current_deadline
from roost.rpc.errors import DeadlineExceeded
from roost.rpc.service import Filter, Rep, Req, Service
from roost.rpc.stats.receiver import MetricsRegistry, StatsReceiver
from roost.rpc.window import LeakyBucket

SCALE = 1000
"""Tokens per serviced request (the bucket is integer; fractions scale by 1000)."""


class DeadlineAdmissionFilter(Filter[Req, Rep, Req, Rep]):
    def __init__(
        self,
        stats_receiver: StatsReceiver | None = None,
        *,
        reject_period: float = 10.0,
        max_reject_fraction: float = 0.2,
        dark_mode: bool = True,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if not 1.0 <= reject_period <= 60.0:
            raise ValueError(f"reject_period must be within [1, 60] s, not {reject_period}")
        if not 0.0 <= max_reject_fraction <= 1.0:
            raise ValueError(f"max_reject_fraction must be within [0, 1]: {max_reject_fraction}")
        self.dark_mode = dark_mode
        self.clock = clock
        self._deposit = SCALE
        self._withdrawal = int(SCALE / max_reject_fraction) if max_reject_fraction > 0 else 0
        self._bucket = LeakyBucket(reject_period, 0, clock)
        stats = (stats_receiver or StatsReceiver(MetricsRegistry())).scope(
            "admission_control", "deadline"
        )
        self.exceeded = stats.counter("exceeded")
        self.rejected = stats.counter("rejected")
        self.expired_ms = stats.stat("expired_ms")
        self.remaining_ms = stats.stat("remaining_ms")

    async def __call__(self, req: Req, service: Service[Req, Rep]) -> Rep:
        deadline = current_deadline()
        if deadline is not None:
            now_ns = int(self.clock.time() * 1e9)
            if deadline.deadline_ns < now_ns:
                late_ns = now_ns - deadline.deadline_ns
                self.exceeded.incr()
                self.expired_ms.add(late_ns / 1e6)
                if self._withdrawal and self._bucket.try_get(self._withdrawal):
                    self.rejected.incr()
                    if self.dark_mode:
                        return await service(req)
                    raise DeadlineExceeded(
                        f"exceeded request deadline of "
                        f"{(deadline.deadline_ns - deadline.timestamp_ns) / 1e6:.1f} ms "
                        f"by {late_ns / 1e6:.1f} ms"
                    )
            else:
                self.remaining_ms.add((deadline.deadline_ns - now_ns) / 1e6)
        self._bucket.put(self._deposit)
        return await service(req)
