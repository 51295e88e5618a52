"""Inclusive, merged integer ranges: the value type of Mesos ``RANGES`` resources (ports)."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from typing import Any

#: Mesos ``Value.Range`` bounds are ``uint64``.
MAX_BOUND = 2**64 - 1
_SPAN = re.compile(r"\s*(\d{1,20})\s*-\s*(\d{1,20})\s*", re.ASCII)


class Ranges:
    """An immutable, sorted set of inclusive ``(begin, end)`` intervals, merged when they touch.

    ``[31000-31002, 31003-31005]`` is stored as ``[31000-31005]``, as Mesos ``coalesce`` does
    (``src/common/values.cpp``). Bounds are non-negative integers, like Mesos' ``uint64``.
    ``spans`` is always sorted, non-overlapping and non-adjacent, so two equal sets of integers
    have equal ``spans``.
    """

    __slots__ = ("_hash", "spans")

    spans: tuple[tuple[int, int], ...]

    def __init__(self, spans: Iterable[tuple[int, int]] = ()) -> None:
        self.spans = _coalesce(sorted(_checked(spans)))
        self._hash: int | None = None

    @classmethod
    def parse(cls, text: str) -> Ranges:
        """Read the text form ``[31000-32000, 33000-33010]``; ``ValueError`` names the bad span."""
        text = text.strip()
        if not text.startswith("[") or not text.endswith("]"):
            raise ValueError("ranges must look like [1-10,20-30]")
        body = text[1:-1]
        pairs = []
        for part in body.split(",") if body.strip() else ():
            m = _SPAN.fullmatch(part)
            if not m:
                raise ValueError(f"bad range '{part.strip()}'")
            b, e = int(m.group(1)), int(m.group(2))
            if b > e:
                raise ValueError(f"range '{part.strip()}' ends before it begins")
            if e > MAX_BOUND:
                raise ValueError(f"range '{part.strip()}' is larger than {MAX_BOUND}")
            pairs.append((b, e))
        return cls(pairs)

    @classmethod
    def from_json(cls, obj: Any) -> Ranges:
        """Read the Mesos ``Value.Ranges`` JSON shape; ``ValueError`` says what is wrong."""
        spans = obj.get("range", []) if isinstance(obj, dict) else None
        if not isinstance(spans, list):
            raise ValueError("RANGES needs 'ranges': {'range': [{'begin': b, 'end': e}]}")
        pairs = []
        for r in spans:
            b, e = (r.get("begin"), r.get("end")) if isinstance(r, dict) else (None, None)
            if type(b) is not int or type(e) is not int or b < 0 or e < 0:
                raise ValueError(f"range bounds must be non-negative integers, not {r!r}")
            pairs.append((b, e))
        return cls(pairs)

    @classmethod
    def _raw(cls, spans: tuple[tuple[int, int], ...]) -> Ranges:
        """Wrap spans that are already normalised (no checks: the hot paths use this)."""
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

    def __contains__(self, value: object) -> bool:
        """``31005 in ranges``: whether one integer is covered."""
        if not isinstance(value, int):
            return False
        i = bisect_right(self.spans, (value, MAX_BOUND + 1)) - 1
        return i >= 0 and self.spans[i][1] >= value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ranges) and self.spans == other.spans

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self.spans)
        return self._hash

    def __repr__(self) -> str:
        return f"Ranges({self})"

    def __str__(self) -> str:
        """Mesos' text form, ``[31000-31005, 32000-32000]``."""
        return "[" + ", ".join(f"{b}-{e}" for b, e in self.spans) + "]"

    def __add__(self, other: Ranges) -> Ranges:
        if not other.spans:
            return self
        if not self.spans:
            return other
        # Both inputs are sorted runs, so this sort is linear (timsort merges runs).
        return Ranges._raw(_coalesce(sorted(self.spans + other.spans)))

    def __sub__(self, other: Ranges) -> Ranges:
        if not other.spans or not self.spans:
            return self
        out: list[tuple[int, int]] = []
        j = 0
        o = other.spans
        n = len(o)
        for b, e in self.spans:
            cur = b
            while j < n and o[j][1] < cur:
                j += 1
            k = j
            while k < n and o[k][0] <= e:
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
        n = len(mine)
        for b, e in other.spans:
            while i < n and mine[i][1] < b:
                i += 1
            # Spans are merged, so a covered span of ``other`` lies inside one of ours.
            if i == n or mine[i][0] > b or mine[i][1] < e:
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
        """The Mesos ``Value.Ranges`` JSON shape, ``{"range": [{"begin": b, "end": e}]}``."""
        return {"range": [{"begin": b, "end": e} for b, e in self.spans]}


def _checked(spans: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    for b, e in spans:
        # bool is an int subclass, floats and strings would be silently truncated or parsed.
        if type(b) is not int or type(e) is not int:
            raise ValueError(f"range bounds must be integers, got {b!r}-{e!r}")
        if b < 0 or e > MAX_BOUND:
            raise ValueError(f"range {b}-{e} is outside 0-{MAX_BOUND}")
        if b > e:
            raise ValueError(f"range begin {b} is greater than end {e}")
        yield (b, e)


def _coalesce(items: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Merge sorted, valid spans that overlap or touch."""
    out: list[tuple[int, int]] = []
    for b, e in items:
        if out and b <= out[-1][1] + 1:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((b, e))
    return tuple(out)
