"""Backoff streams: how long to wait before each retry, in seconds (Finagle ``Backoff.scala``).

A :class:`Backoff` is a re-iterable stream, like upstream's persistent streams: each
``iter(backoff)`` starts again from the first delay, so one backoff serves every request
of a filter. The streams are infinite; ``backoff.take(n)`` lists the first ``n`` delays.

* ``const(d)``: d, d, d, …
* ``exponential(start, mult, max)``: start·mult^k, capped at ``max``.
* ``linear(start, offset, max)``: start + k·offset, capped at ``max``.
* ``decorrelated_jittered(start, max)``: d0 = start; d(k+1) uniform in [d(k), min(3·d(k), max)).
* ``equal_jittered(start, max)``: d0 = start; d(k) = h + uniform[0, h) with h = start·2^(k-1).
* ``exponential_jittered(start, max)``: d0 = start; d(k) uniform in [0, start·2^k) ("full
  jitter"; upstream's first delay is ``start`` too).

Once a capped stream reaches ``max`` it is ``const(max)``. The jittered streams take a
``random.Random`` so tests can seed them; by default each stream gets its own.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterable, Iterator


class Backoff(Iterable[float]):
    """A re-iterable stream of delays in seconds."""

    __slots__ = ("_make", "_name")

    def __init__(self, make: Callable[[], Iterator[float]], name: str) -> None:
        self._make = make
        self._name = name

    def __iter__(self) -> Iterator[float]:
        return self._make()

    def take(self, n: int) -> list[float]:
        """The first ``n`` delays of a fresh iteration."""
        return list(itertools.islice(self, n))

    def __repr__(self) -> str:
        return self._name


def _check(fn: str, name: str, value: float, *, positive: bool = False) -> None:
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "greater than 0" if positive else "at least 0"
        raise ValueError(f"{fn}: {name} must be a finite number {bound}, got {value!r}")


def _check_max(fn: str, start: float, maximum: float | None) -> None:
    if maximum is None:
        return
    _check(fn, "max", maximum)
    if maximum < start:
        raise ValueError(f"{fn}: max ({maximum!r}) must not be less than start ({start!r})")


def const(seconds: float) -> Backoff:
    """The same delay forever."""
    _check("const", "seconds", seconds)
    return Backoff(lambda: itertools.repeat(seconds), f"const({seconds!r})")


def exponential(start: float, mult: float, max: float | None = None) -> Backoff:
    """start, start·mult, start·mult², … capped at ``max`` (``mult`` at least 1)."""
    _check("exponential", "start", start)
    if not (math.isfinite(mult) and mult >= 1):
        raise ValueError(f"exponential: mult must be a finite number at least 1, got {mult!r}")
    _check_max("exponential", start, max)

    cap = math.inf if max is None else max

    def stream() -> Iterator[float]:
        delay = start
        while delay < cap:
            yield delay
            delay *= mult
        yield from itertools.repeat(cap)

    return Backoff(stream, f"exponential({start!r}, {mult!r}, max={max!r})")


def linear(start: float, offset: float, max: float | None = None) -> Backoff:
    """start, start+offset, start+2·offset, … capped at ``max``."""
    _check("linear", "start", start)
    _check("linear", "offset", offset)
    _check_max("linear", start, max)

    cap = math.inf if max is None else max

    def stream() -> Iterator[float]:
        for k in itertools.count():
            delay = start + k * offset
            if delay >= cap:
                break
            yield delay
        yield from itertools.repeat(cap)

    return Backoff(stream, f"linear({start!r}, {offset!r}, max={max!r})")


def _jittered_args(fn: str, start: float, max: float) -> None:
    _check(fn, "start", start, positive=True)
    _check_max(fn, start, max)


def decorrelated_jittered(start: float, max: float, rng: random.Random | None = None) -> Backoff:
    """d0 = start, then each delay uniform in [previous, min(3·previous, max)) (Linkerd's
    ``jittered`` backoff)."""
    _jittered_args("decorrelated_jittered", start, max)

    def stream() -> Iterator[float]:
        r = rng or random.Random()
        delay = start
        while delay < max:
            yield delay
            upper = min(3 * delay, max)
            delay += r.random() * (upper - delay)
        yield from itertools.repeat(max)

    return Backoff(stream, f"decorrelated_jittered({start!r}, {max!r})")


def equal_jittered(start: float, max: float, rng: random.Random | None = None) -> Backoff:
    """d0 = start, then h + uniform[0, h) with h = start·2^(k-1): half the exponential growth
    kept, half jittered (failure accrual's default, ``equal_jittered(5, 300)``)."""
    _jittered_args("equal_jittered", start, max)

    def stream() -> Iterator[float]:
        r = rng or random.Random()
        delay = start
        half = start
        while delay < max:
            yield delay
            delay = half + r.random() * half
            half *= 2
        yield from itertools.repeat(max)

    return Backoff(stream, f"equal_jittered({start!r}, {max!r})")


def exponential_jittered(start: float, max: float, rng: random.Random | None = None) -> Backoff:
    """d0 = start, then uniform in [0, start·2^k) until start·2^k reaches ``max``."""
    _jittered_args("exponential_jittered", start, max)

    def stream() -> Iterator[float]:
        r = rng or random.Random()
        if start >= max:
            yield from itertools.repeat(max)
        yield start
        ceiling = 2 * start
        while ceiling < max:
            yield r.random() * ceiling
            ceiling *= 2
        yield from itertools.repeat(max)

    return Backoff(stream, f"exponential_jittered({start!r}, {max!r})")
