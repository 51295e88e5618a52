"""Inclusive, merged integer ranges: the value type of Mesos ``RANGES`` resources (ports)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class Ranges:
    """An immutable, sorted set of inclusive ``(begin, end)`` intervals, merged when they touch.

    ``[31000-31002, 31003-31005]`` is stored as ``[31000-31005]``, as Mesos does.
    """

    __slots__ = ("_hash", "spans")

    spans: tuple[tuple[int, int], ...]

    def __init__(self, spans: Iterable[tuple[int, int]] = ()) -> None:
        self.spans = _merge(spans)
        self._hash: int | None = None

    @classmethod
    def _raw(cls, spans: tuple[tuple[int, int], ...]) -> Ranges:
        r = cls.__new__(cls)
        r.spans = spans
        r._hash = None
        return r

    def __bool__(self) -> bool:
        return bool(self.spans)

    def __len__(self) -> int:
        """Number of integers covered."""
        return sum(e - b + 1 for b, e in self.spans)

    def __iter__(self) -> Iterator[int]:
        for b, e in self.spans:
            yield from range(b, e + 1)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ranges) and self.spans == other.spans

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self.spans)
        return self._hash

    def __repr__(self) -> str:
        return f"Ranges({self})"

    def __str__(self) -> str:
        return "[" + ", ".join(f"{b}-{e}" for b, e in self.spans) + "]"

    def __add__(self, other: Ranges) -> Ranges:
        if not other.spans:
            return self
        if not self.spans:
            return other
        return Ranges(self.spans + other.spans)

    def __sub__(self, other: Ranges) -> Ranges:
        if not other.spans or not self.spans:
            return self
        out: list[tuple[int, int]] = []
        j = 0
        o = other.spans
        for b, e in self.spans:
            cur = b
            while j < len(o) and o[j][1] < cur:
                j += 1
            k = j
            while k < len(o) and o[k][0] <= e:
                ob, oe = o[k]
                if ob > cur:
                    out.append((cur, ob - 1))
                cur = max(cur, oe + 1)
                if cur > e:
                    break
                k += 1
            if cur <= e:
                out.append((cur, e))
        return Ranges._raw(tuple(out))

    def contains(self, other: Ranges) -> bool:
        """True when every integer of ``other`` is in ``self``."""
        if not other.spans:
            return True
        i = 0
        mine = self.spans
        for b, e in other.spans:
            while i < len(mine) and mine[i][1] < b:
                i += 1
            if i == len(mine) or mine[i][0] > b or mine[i][1] < e:
                return False
        return True

    def first(self, count: int) -> Ranges:
        """The lowest ``count`` integers (fewer if there are not that many)."""
        out: list[tuple[int, int]] = []
        left = count
        for b, e in self.spans:
            if left <= 0:
                break
            size = e - b + 1
            if size <= left:
                out.append((b, e))
                left -= size
            else:
                out.append((b, b + left - 1))
                left = 0
        return Ranges._raw(tuple(out))

    def to_json(self) -> dict[str, list[dict[str, int]]]:
        return {"range": [{"begin": b, "end": e} for b, e in self.spans]}


def _merge(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    items = sorted((int(b), int(e)) for b, e in spans)
    out: list[tuple[int, int]] = []
    for b, e in items:
        if b > e:
            raise ValueError(f"range begin {b} is greater than end {e}")
        if out and b <= out[-1][1] + 1:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((b, e))
    return tuple(out)
