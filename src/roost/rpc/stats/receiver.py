"""Where metrics are created and kept (Finagle ``StatsReceiver``, ``MetricsRegistry``).

A :class:`MetricsRegistry` maps names (``clnt/web/requests``) to counters, gauges and
histograms; one process usually shares :data:`DEFAULT_REGISTRY`. A :class:`StatsReceiver`
is a view of a registry under a prefix: ``stats.scope("clnt", "web").counter("requests")``
is the counter named ``clnt/web/requests``. Asking again for the same name returns the same
object, so a filter can be built many times over one scope. Name segments are joined with
``/``; empty segments are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from roost.rpc.stats.histogram import Batch, Histogram
from roost.rpc.stats.metrics import Counter, Gauge, NullCounter

Metric = Counter | Gauge | Histogram
M = TypeVar("M", Counter, Gauge, Histogram)


class MetricsRegistry:
    """Every metric of a process by name; exported by :mod:`roost.rpc.stats.export`."""

    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}
        self._segments: dict[str, tuple[str, ...]] = {}

    def segments(self, name: str) -> tuple[str, ...]:
        """The scopes ``name`` was made from, as the receivers were given them: a scope
        ``svc/web`` stays one segment (``("rt", "edge", "service", "svc/web", "requests")``),
        which exporters that label scopes need (Linkerd's Prometheus format)."""
        return self._segments.get(name) or tuple(name.split("/"))

    def _get_or_create(
        self, name: str, kind: type[M], make: Callable[[], M], segments: tuple[str, ...] = ()
    ) -> M:
        existing = self._metrics.get(name)
        if existing is None:
            created = make()
            self._metrics[name] = created
            if segments:
                self._segments[name] = segments
            return created
        if not isinstance(existing, kind):
            raise ValueError(
                f"metric {name!r} is already a {type(existing).__name__.lower()}, "
                f"not a {kind.__name__.lower()}"
            )
        return existing

    def counter(self, name: str, segments: tuple[str, ...] = ()) -> Counter:
        return self._get_or_create(name, Counter, lambda: Counter(name), segments)

    def stat(self, name: str, segments: tuple[str, ...] = ()) -> Histogram:
        return self._get_or_create(name, Histogram, lambda: Histogram(name), segments)

    def gauge(
        self,
        name: str,
        fn: Callable[[], float],
        *,
        monotonic: bool = False,
        segments: tuple[str, ...] = (),
    ) -> Gauge:
        gauge = self._get_or_create(
            name,
            Gauge,
            lambda: Gauge(name, fn, self._remove_gauge, monotonic=monotonic),
            segments,
        )
        gauge.fn = fn
        gauge.monotonic = monotonic
        return gauge

    def _remove_gauge(self, gauge: Gauge) -> None:
        if self._metrics.get(gauge.name) is gauge:
            del self._metrics[gauge.name]
            self._segments.pop(gauge.name, None)

    def get(self, name: str) -> Metric | None:
        return self._metrics.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._metrics

    def __iter__(self) -> Iterator[tuple[str, Metric]]:
        """``(name, metric)`` sorted by name."""
        return iter(sorted(self._metrics.items()))

    def __len__(self) -> int:
        return len(self._metrics)


DEFAULT_REGISTRY = MetricsRegistry()
"""The process-wide registry that ``StatsReceiver()`` records into."""


class StatsReceiver:
    """Creates metrics named ``<prefix>/<name>`` in a registry."""

    __slots__ = ("parts", "prefix", "registry")

    def __init__(
        self,
        registry: MetricsRegistry | None = None,
        prefix: str = "",
        parts: tuple[str, ...] | None = None,
    ) -> None:
        self.registry = DEFAULT_REGISTRY if registry is None else registry
        self.prefix = prefix.strip("/")
        self.parts = parts if parts is not None else _segments((self.prefix,))
        """The scopes as given (``scope("rt", "edge", "service", "svc/web")``: four)."""

    def _name(self, parts: tuple[str, ...]) -> str:
        name = "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))
        if not name or len(name) == len(self.prefix):
            raise ValueError(f"a metric needs a name (under {self.prefix!r})")
        return name

    def scope(self, *names: str) -> StatsReceiver:
        """``scope("clnt", "web")``: everything created from the result is under ``clnt/web/``."""
        prefix = "/".join(p.strip("/") for p in (self.prefix, *names) if p.strip("/"))
        return type(self)(self.registry, prefix, self.parts + _segments(names))

    def counter(self, *name: str) -> Counter:
        return self.registry.counter(self._name(name), self.parts + _segments(name))

    def stat(self, *name: str) -> Histogram:
        """A histogram (Finagle calls them stats)."""
        return self.registry.stat(self._name(name), self.parts + _segments(name))

    def gauge(
        self,
        *name: str | Callable[[], float],
        fn: Callable[[], float] | None = None,
        monotonic: bool = False,
    ) -> Gauge:
        """``gauge("pending", fn=lambda: n)`` or Finagle-like ``gauge("pending", lambda: n)``:
        the function may be the last positional argument or ``fn=``. ``monotonic``: a count
        that only grows, exported as a counter."""
        if fn is None and name and callable(name[-1]):
            fn, name = name[-1], name[:-1]
        if fn is None:
            raise TypeError("gauge() needs a function: gauge(*name, fn)")
        parts = tuple(p for p in name if isinstance(p, str))
        if len(parts) != len(name):
            raise TypeError("gauge() name segments must be strings")
        return self.registry.gauge(
            self._name(parts), fn, monotonic=monotonic, segments=self.parts + _segments(parts)
        )

    def __repr__(self) -> str:
        return f"StatsReceiver({self.prefix!r})"


def _segments(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n.strip("/") for n in names if n.strip("/"))


class NullStatsReceiver(StatsReceiver):
    """Records nothing and registers nothing (the default of filters given no stats)."""

    __slots__ = ()

    def __init__(
        self,
        registry: MetricsRegistry | None = None,
        prefix: str = "",
        parts: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(MetricsRegistry(), prefix, parts)

    def counter(self, *name: str) -> Counter:
        return NullCounter("/".join(name))

    def stat(self, *name: str) -> Histogram:
        return _NullHistogram("/".join(name))

    def gauge(
        self,
        *name: str | Callable[[], float],
        fn: Callable[[], float] | None = None,
        monotonic: bool = False,
    ) -> Gauge:
        if fn is None and name and callable(name[-1]):
            fn = name[-1]
        return Gauge("", fn if fn is not None else float)


class _NullHistogram(Histogram):
    __slots__ = ()

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self._counts = []

    def add(self, value: float) -> None:
        pass

    def add_times(self, value: float, times: int) -> None:
        pass

    def merge(self, batch: Batch) -> None:
        pass
