"""A histogram cheap enough for the request path (in the spirit of Finagle's
``BucketedHistogram``): fixed log-scale buckets, one ``math.log`` and a list increment per
``add``, no sorting and no per-add objects.

Buckets: bucket 0 holds values below :data:`LOWEST` (0.001, including zero and negatives),
bucket ``i >= 1`` holds ``[LOWEST * R**(i-1), LOWEST * R**i)`` with ``R = 1.02``, and the last
bucket everything from :data:`HIGHEST` (1e12) up. A percentile is the geometric middle of
the bucket holding the value of that rank (nearest rank: the ``ceil(q * count)``-th smallest),
clamped to the exact min and max, and rounded to 6 significant digits, so it is within
**1 %** of that value (``sqrt(1.02) - 1 = 0.995 %``, plus at most 0.0005 % of rounding) for
values in ``[0.001, 1e12)``; below 0.001 the error is absolute and under 0.001. ``count``,
``sum``, ``min`` and ``max`` are exact. 1,747 buckets (a 14 KB list) per histogram.

Counts are cumulative from creation; :meth:`Histogram.snapshot` with ``reset=True`` starts a
new interval (Finagle latches histograms once a minute; an admin loop may do the same).
Not thread-safe: one event loop owns a registry.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

LOWEST = 0.001
HIGHEST = 1e12
RATIO = 1.02
_K = 1.0 / math.log(RATIO)
_OFFSET = 1.0 - math.log(LOWEST) * _K  # so that log(LOWEST) * _K + _OFFSET == 1
_LAST = int(math.log(HIGHEST / LOWEST) * _K) + 2
BUCKETS = _LAST + 1
_log = math.log
_MIDS = [0.0] + [LOWEST * RATIO ** (i - 0.5) for i in range(1, _LAST)] + [HIGHEST]
"""The value a bucket reports (before clamping to min/max)."""

PERCENTILES: Mapping[str, float] = {
    "p50": 0.5,
    "p90": 0.9,
    "p95": 0.95,
    "p99": 0.99,
    "p9990": 0.999,
    "p9999": 0.9999,
}
"""The exported percentiles, by their Finagle suffix."""


def bucket_of(value: float) -> int:
    """The bucket a value is counted in (what :meth:`Histogram.add` computes inline)."""
    if value < LOWEST:
        return 0
    if value >= HIGHEST:
        return _LAST
    return int(math.log(value) * _K + _OFFSET)


class Batch:
    """Values summarised once to be counted in several histograms (:meth:`Histogram.merge`):
    what a caller recording the same latencies in several places does in bulk."""

    __slots__ = ("buckets", "count", "max", "min", "sum")

    def __init__(self, values: list[float]) -> None:
        buckets: dict[int, int] = {}
        for value in values:
            i = bucket_of(value)
            buckets[i] = buckets.get(i, 0) + 1
        self.buckets = buckets
        self.count = len(values)
        self.sum = math.fsum(values)
        self.min = min(values, default=math.inf)
        self.max = max(values, default=-math.inf)


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    count: int
    sum: float
    min: float
    max: float
    percentiles: Mapping[str, float]
    """``{"p50": …, "p90": …, "p95": …, "p99": …, "p9990": …, "p9999": …}``."""

    @property
    def avg(self) -> float:
        return self.sum / self.count if self.count else 0.0

    def fields(self) -> dict[str, float]:
        """Finagle's export suffixes in order: count, sum, avg, min, max, p50 … p9999."""
        out: dict[str, float] = {
            "count": self.count,
            "sum": self.sum,
            "avg": self.avg,
            "min": self.min,
            "max": self.max,
        }
        out.update(self.percentiles)
        return out


class Histogram:
    """``add(value)`` on the hot path; :meth:`percentile` / :meth:`snapshot` when exporting."""

    __slots__ = ("_counts", "count", "max", "min", "name", "sum")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._counts = [0] * BUCKETS
        self.count = 0
        self.sum: float = 0
        self.min = math.inf
        self.max = -math.inf

    def add(self, value: float) -> None:
        if value < LOWEST:
            i = 0
        elif value >= HIGHEST:
            i = _LAST
        else:
            i = int(_log(value) * _K + _OFFSET)
        self._counts[i] += 1
        self.count += 1
        self.sum += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value

    def add_times(self, value: float, times: int) -> None:
        """:meth:`add` ``value`` ``times`` times."""
        if times > 0:
            self._counts[bucket_of(value)] += times
            self.count += times
            self.sum += value * times
            self.min = min(self.min, value)
            self.max = max(self.max, value)

    def merge(self, batch: Batch) -> None:
        """:meth:`add` every value of ``batch``."""
        if not batch.count:
            return
        counts = self._counts
        for i, n in batch.buckets.items():
            counts[i] += n
        self.count += batch.count
        self.sum += batch.sum
        if batch.min < self.min:
            self.min = batch.min
        if batch.max > self.max:
            self.max = batch.max

    def percentile(self, q: float) -> float:
        """The estimated value of rank ``ceil(q * count)`` (0 when empty)."""
        return self._percentiles((q,))[0]

    def _percentiles(self, qs: tuple[float, ...]) -> list[float]:
        """Estimates for quantiles ``qs`` (one cumulative sum, a binary search each)."""
        if self.count == 0:
            return [0.0] * len(qs)
        cumulative = list(itertools.accumulate(self._counts))
        out: list[float] = []
        for q in qs:
            rank = max(1, math.ceil(q * self.count - 1e-9))
            i = bisect.bisect_left(cumulative, rank)
            if i >= len(cumulative):  # q > 1
                out.append(self.max)
                continue
            value = min(max(_MIDS[i], self.min), self.max)
            out.append(float(f"{value:.6g}") if self.min < value < self.max else value)
        return out

    def snapshot(self, *, reset: bool = False) -> HistogramSnapshot:
        names = tuple(PERCENTILES)
        values = self._percentiles(tuple(PERCENTILES[n] for n in names))
        snap = HistogramSnapshot(
            count=self.count,
            sum=self.sum,
            min=self.min if self.count else 0.0,
            max=self.max if self.count else 0.0,
            percentiles=dict(zip(names, values, strict=True)),
        )
        if reset:
            self.clear()
        return snap

    def clear(self) -> None:
        self._counts = [0] * BUCKETS
        self.count = 0
        self.sum = 0
        self.min = math.inf
        self.max = -math.inf

    def __repr__(self) -> str:
        return f"Histogram({self.name!r}, count={self.count})"
