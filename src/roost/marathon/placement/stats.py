"""Offer statistics per app: the ``processedOffersSummary`` of ``/v2/queue``.

Mirrors Marathon's ``OfferMatchStatistics`` (counts since the launch attempt began, the last
unmatched offer per agent) and ``QueueInfoConversion.declinedOfferSteps`` (the funnel):

* ``processedOffersCount`` / ``unusedOffersCount``: offers looked at / not used;
* ``lastUnusedOfferAt`` / ``lastUsedOfferAt``: when the last one of each was processed
  (left out until there is one, as Marathon omits empty optionals);
* ``rejectSummaryLaunchAttempt``: for every reason in funnel order, ``declined`` = offers
  rejected for it, ``processed`` = offers still in play at that step (all processed offers
  minus those declined at earlier steps);
* ``rejectSummaryLastOffers``: the same over the last unmatched offer of each agent, starting
  from the number of such agents. A later match does not remove an agent's entry (as upstream).

Each offer counts once, under the reason the pipeline returned. Without an ``agent_id`` every
unmatched offer is its own entry in the last-offers window, which keeps the newest
``last_offers_limit``. ``now`` is wall-clock seconds, formatted by the caller's ``fmt_ts``.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from itertools import count
from typing import Any

from roost.marathon.placement.reasons import REASONS

_KNOWN = frozenset(REASONS)


class OfferStats:
    """What one app's queue entry reports about the offers it saw; reset when a launch ends."""

    def __init__(self, last_offers_limit: int = 1000) -> None:
        self._limit = max(1, last_offers_limit)
        self._anonymous = count()
        self.reset()

    def reset(self) -> None:
        """Forget everything, as Marathon does on ``LaunchFinished``."""
        self.processed = 0
        self.unused = 0
        self.last_used_at: float | None = None
        self.last_unused_at: float | None = None
        self.launch_attempt: Counter[str] = Counter()
        self.last_offers: OrderedDict[object, str] = OrderedDict()

    def record(self, reason: str | None, now: float, *, agent_id: str | None = None) -> None:
        """One processed offer: used when ``reason`` is None, else rejected for ``reason``."""
        self.processed += 1
        if reason is None:
            self.last_used_at = now
            return
        if reason not in _KNOWN:
            raise ValueError(f"unknown offer rejection reason {reason!r} (known: {REASONS})")
        self.unused += 1
        self.last_unused_at = now
        self.launch_attempt[reason] += 1
        key: object = agent_id if agent_id is not None else ("offer", next(self._anonymous))
        self.last_offers.pop(key, None)
        self.last_offers[key] = reason
        while len(self.last_offers) > self._limit:
            self.last_offers.popitem(last=False)

    def summary(self, fmt_ts: Callable[[float], str]) -> dict[str, Any]:
        """Marathon's ``ProcessedOffersSummary`` JSON."""
        out: dict[str, Any] = {
            "processedOffersCount": self.processed,
            "unusedOffersCount": self.unused,
        }
        if self.last_unused_at is not None:
            out["lastUnusedOfferAt"] = fmt_ts(self.last_unused_at)
        if self.last_used_at is not None:
            out["lastUsedOfferAt"] = fmt_ts(self.last_used_at)
        last = Counter(self.last_offers.values())
        out["rejectSummaryLastOffers"] = funnel(len(self.last_offers), last)
        out["rejectSummaryLaunchAttempt"] = funnel(self.processed, self.launch_attempt)
        return out


def funnel(processed: int, declined: Mapping[str, int]) -> list[dict[str, Any]]:
    """``[{"reason", "declined", "processed"}]`` for every reason, in funnel order."""
    steps = []
    for reason in REASONS:
        n = declined.get(reason, 0)
        steps.append({"reason": reason, "declined": n, "processed": processed})
        processed -= n
    return steps
