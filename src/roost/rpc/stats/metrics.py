"""Counters and gauges: plain objects a filter holds on to, so recording is an attribute
update (Finagle ``Counter``, ``Gauge``). Histograms live in :mod:`.histogram`."""

from __future__ import annotations

from collections.abc import Callable


class Counter:
    """A monotonically increasing count: ``counter.incr()``, ``counter.incr(5)``."""

    __slots__ = ("name", "value")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.value = 0

    def incr(self, n: int = 1) -> None:
        self.value += n

    def __repr__(self) -> str:
        return f"Counter({self.name!r}, {self.value})"


class Gauge:
    """An instantaneous value read from ``fn`` when exported (``pending``, ``pool_size``) —
    or, ``monotonic``, a count an object keeps itself (``loadbalancer/adds``), exported as a
    counter.

    Registering a gauge again under the same name replaces its function (the newest owner
    wins); :meth:`remove` takes it off the registry when its owner goes away.
    """

    __slots__ = ("_remove", "fn", "monotonic", "name")

    def __init__(
        self,
        name: str,
        fn: Callable[[], float],
        remove: Callable[[Gauge], None] | None = None,
        *,
        monotonic: bool = False,
    ) -> None:
        self.name = name
        self.fn = fn
        self._remove = remove
        self.monotonic = monotonic
        """A count kept elsewhere that only grows: exported as a counter, not a gauge."""

    @property
    def value(self) -> float:
        return self.fn()

    def remove(self) -> None:
        if self._remove is not None:
            self._remove(self)
            self._remove = None

    def __repr__(self) -> str:
        return f"Gauge({self.name!r})"


class NullCounter(Counter):
    """Counts nothing (``NullStatsReceiver``)."""

    __slots__ = ()

    def incr(self, n: int = 1) -> None:
        pass
