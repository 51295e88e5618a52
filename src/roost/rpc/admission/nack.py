"""Client-side throttling when the servers NACK (Finagle ``NackAdmissionFilter``, after the
SRE book's "client-side throttling").

The filter keeps an exponential moving average of the *accept rate* — 1 for every response
that is not a NACK (an :class:`~roost.rpc.errors.RpcError` with ``rejected`` set, raised by
the service below), 0 for a NACK — over a ``window`` (2 minutes), starting at 1.0. The EMA
is time-weighted: an observation ``dt`` seconds after the last moves it by weight
``1 - exp(-dt / window)`` (two at the same instant: the second one changes nothing).
NACKs only pull it down while the client sends at least ``rps_threshold`` (5) requests per
second (counted over 1 s in 10 slices), so a trickle of requests cannot shut the client off.

Below ``1 - nack_rate_threshold`` (0.5) each request is dropped with probability
``min(0.75, 1 - ema / (1 - nack_rate_threshold))``, raising
:class:`~roost.rpc.errors.Rejected` flagged NON_RETRYABLE (so nothing requeues it). The 0.75
cap keeps some requests flowing, so the EMA can recover. Stat
``nack_admission_control/dropped_requests``.
"""

from __future__ import annotations

import math
import random

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.rpc.errors import Flags, Rejected, RpcError
from roost.rpc.service import Filter, Rep, Req, Service
from roost.rpc.stats.receiver import MetricsRegistry, StatsReceiver
from roost.rpc.window import WindowedAdder

MAX_DROP_PROBABILITY = 0.75


class NackAdmissionFilter(Filter[Req, Rep, Req, Rep]):
    def __init__(
        self,
        stats_receiver: StatsReceiver | None = None,
        *,
        window: float = 120.0,
        nack_rate_threshold: float = 0.5,
        rps_threshold: int = 5,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
    ) -> None:
        if window <= 0:
            raise ValueError(f"window must be positive, not {window}")
        if not 0.0 < nack_rate_threshold < 1.0:
            raise ValueError(f"nack_rate_threshold must lie in (0, 1): {nack_rate_threshold}")
        self.window = window
        self.accept_threshold = 1.0 - nack_rate_threshold
        self.rps_threshold = rps_threshold
        self.clock = clock
        self.rng = rng or random.Random()
        self._ema = 1.0
        self._ema_at = clock.monotonic()
        self._rps = WindowedAdder(1.0, 10, clock)
        stats = (stats_receiver or StatsReceiver(MetricsRegistry())).scope("nack_admission_control")
        self.dropped_requests = stats.counter("dropped_requests")

    @property
    def accept_rate(self) -> float:
        """The EMA of the accept (non-NACK) rate."""
        return self._ema

    def drop_probability(self) -> float:
        ema = self._ema
        if ema >= self.accept_threshold:
            return 0.0
        return min(MAX_DROP_PROBABILITY, 1.0 - ema / self.accept_threshold)

    def _observe(self, accepted: bool) -> None:
        if not accepted and self._rps.sum() < self.rps_threshold:
            return
        now = self.clock.monotonic()
        w = math.exp(-(now - self._ema_at) / self.window)
        self._ema = (1.0 if accepted else 0.0) * (1.0 - w) + self._ema * w
        self._ema_at = now

    def admit(self) -> bool:
        """For a caller doing this filter's work itself (the mesh's fast lane): count the
        request; ``False`` when the filter might shed it (the caller then goes through the
        filter instead). Report the answer with :meth:`observe`."""
        if self._ema < self.accept_threshold:
            return False
        self._rps.incr()
        return True

    def observe(self, accepted: bool) -> None:
        """An answer to a request :meth:`admit` let through: accepted, or a NACK."""
        self._observe(accepted)

    async def __call__(self, req: Req, service: Service[Req, Rep]) -> Rep:
        self._rps.incr()
        if self._ema < self.accept_threshold and self.rng.random() < self.drop_probability():
            self.dropped_requests.incr()
            raise Rejected(
                "failed fast: the service is overloaded (NACK rate too high)",
                flags=Flags.REJECTED | Flags.NON_RETRYABLE,
            )
        try:
            rep = await service(req)
        except RpcError as exc:
            self._observe(not exc.rejected)
            raise
        except Exception:  # any other outcome is an accept (a cancellation tells nothing)
            self._observe(True)
            raise
        self._observe(True)
        return rep
