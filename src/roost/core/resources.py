"""The Mesos resource model: scalars, ranges and sets, by name.

Scalars are kept as integer thousandths, as Mesos keeps three decimal places, so repeated
arithmetic never drifts (``0.1 + 0.2 == 0.3`` here). Ranges are inclusive and merged; sets are
sets of strings. Any name is allowed; ``cpus``, ``mem`` (MB), ``disk`` (MB), ``gpus`` and
``ports`` are the standard ones.

Three textual forms are supported:

* the agent flag syntax ``cpus:4;mem:4096;ports:[31000-32000];gpus:0;zones:{a,b}``;
* the Mesos JSON list ``[{"name":"cpus","type":"SCALAR","scalar":{"value":4}}, ...]``;
* the flat object of ``/master/state`` ``{"cpus":4.0,"ports":"[31000-32000]"}`` (output only).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from roost.core.ranges import Ranges

Value = int | Ranges | frozenset[str]

SCALE = 1000
STANDARD_SCALARS = ("cpus", "gpus", "mem", "disk")
MAX_SCALAR = 10**15  # in units: far beyond any machine, small enough to stay exact
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]{0,63}$")
_RANGE = re.compile(r"^\s*(\d{1,10})\s*-\s*(\d{1,10})\s*$")


class ResourceError(ValueError):
    """A resource string or JSON document that cannot be understood."""


def to_millis(value: float | int | str, name: str = "value") -> int:
    """Convert a scalar to thousandths, rounding like Mesos (to the nearest 0.001)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ResourceError(f"'{name}': '{value}' is not a number") from None
    if math.isnan(f) or math.isinf(f):
        raise ResourceError(f"'{name}': '{value}' is not a finite number")
    if f < 0:
        raise ResourceError(f"'{name}': '{value}' is negative")
    if f > MAX_SCALAR:
        raise ResourceError(f"'{name}': '{value}' is too large")
    return round(f * SCALE)


class Resources:
    """An immutable bag of named resources. ``a + b``, ``a - b``, ``a.contains(b)``."""

    __slots__ = ("_v",)

    def __init__(self, values: Mapping[str, Value] | None = None) -> None:
        v: dict[str, Value] = {}
        if values:
            for name, val in values.items():
                if _nonempty(val):
                    v[name] = val
        self._v = v

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def scalars(cls, **amounts: float) -> Resources:
        return cls({k: to_millis(a, k) for k, a in amounts.items()})

    @classmethod
    def parse(cls, text: str) -> Resources:
        """Parse the agent flag syntax; errors name the offending token."""
        values: dict[str, Value] = {}
        if len(text) > 65536:
            raise ResourceError("resource string is longer than 64 KiB")
        for token in text.split(";"):
            tok = token.strip()
            if not tok:
                continue
            name, sep, raw = tok.partition(":")
            name = name.strip()
            raw = raw.strip()
            if not sep or not raw:
                raise ResourceError(f"bad resource '{tok}': expected 'name:value'")
            if name.endswith("(*)"):
                name = name[:-3]
            if "(" in name:
                raise ResourceError(f"bad resource '{tok}': reserved resources are not supported")
            if not _NAME.match(name):
                raise ResourceError(f"bad resource '{tok}': invalid name '{name}'")
            val: Value
            if raw.startswith("["):
                val = _parse_ranges(raw, tok)
            elif raw.startswith("{"):
                val = _parse_set(raw, tok)
            else:
                try:
                    val = to_millis(raw, name)
                except ResourceError as e:
                    raise ResourceError(f"bad resource '{tok}': {e}") from None
            values[name] = _combine(values.get(name), val, tok)
        return cls(values)

    @classmethod
    def from_json(cls, items: Any) -> Resources:
        """Parse a Mesos ``Resource`` list; unknown fields are ignored, bad ones rejected."""
        if not isinstance(items, list):
            raise ResourceError("resources must be a list of Resource objects")
        values: dict[str, Value] = {}
        for i, item in enumerate(items):
            where = f"resources[{i}]"
            if not isinstance(item, dict):
                raise ResourceError(f"{where}: expected an object")
            name = item.get("name")
            if not isinstance(name, str) or not _NAME.match(name):
                raise ResourceError(f"{where}: missing or invalid 'name'")
            rtype = item.get("type", "SCALAR")
            val: Value
            try:
                if rtype == "SCALAR":
                    scalar = item.get("scalar")
                    if not isinstance(scalar, dict) or "value" not in scalar:
                        raise ResourceError("SCALAR needs 'scalar': {'value': n}")
                    if isinstance(scalar["value"], bool) or not isinstance(
                        scalar["value"], int | float
                    ):
                        raise ResourceError("'scalar.value' must be a number")
                    val = to_millis(scalar["value"], name)
                elif rtype == "RANGES":
                    rng = item.get("ranges")
                    spans = rng.get("range", []) if isinstance(rng, dict) else None
                    if not isinstance(spans, list):
                        raise ResourceError("RANGES needs 'ranges': {'range': [...]}")
                    pairs = []
                    for r in spans:
                        if not isinstance(r, dict):
                            raise ResourceError("each range must be {'begin', 'end'}")
                        b, e = r.get("begin"), r.get("end")
                        if not _is_int(b) or not _is_int(e) or b < 0 or e < 0:
                            raise ResourceError("range bounds must be non-negative integers")
                        pairs.append((b, e))
                    val = Ranges(pairs)
                elif rtype == "SET":
                    st = item.get("set")
                    elems = st.get("item", []) if isinstance(st, dict) else None
                    if not isinstance(elems, list) or not all(isinstance(x, str) for x in elems):
                        raise ResourceError("SET needs 'set': {'item': [strings]}")
                    val = frozenset(elems)
                else:
                    raise ResourceError(f"unknown type '{rtype}'")
            except (ResourceError, ValueError) as e:
                raise ResourceError(f"{where} ({name}): {e}") from None
            values[name] = _combine(values.get(name), val, name)
        return cls(values)

    # -- access -------------------------------------------------------------------------------
    def names(self) -> list[str]:
        return list(self._v)

    def get(self, name: str) -> Value | None:
        return self._v.get(name)

    def millis(self, name: str) -> int:
        v = self._v.get(name)
        return v if isinstance(v, int) else 0

    def scalar(self, name: str) -> float:
        return self.millis(name) / SCALE

    def ranges(self, name: str = "ports") -> Ranges:
        v = self._v.get(name)
        return v if isinstance(v, Ranges) else Ranges()

    def items(self) -> Iterable[tuple[str, Value]]:
        return self._v.items()

    def scalar_items(self) -> Iterable[tuple[str, int]]:
        return ((k, v) for k, v in self._v.items() if isinstance(v, int))

    def is_empty(self) -> bool:
        return not self._v

    def __bool__(self) -> bool:
        return bool(self._v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Resources) and self._v == other._v

    def __hash__(self) -> int:
        return hash(frozenset(self._v.items()))

    def __repr__(self) -> str:
        return f"Resources({self})"

    # -- algebra ------------------------------------------------------------------------------
    def __add__(self, other: Resources) -> Resources:
        if not other._v:
            return self
        if not self._v:
            return other
        out = dict(self._v)
        for k, v in other._v.items():
            out[k] = _combine(out.get(k), v, k)
        return _wrap(out)

    def __sub__(self, other: Resources) -> Resources:
        """Remove ``other``; scalars floor at zero, names that become empty disappear."""
        if not other._v or not self._v:
            return self
        out = dict(self._v)
        for k, v in other._v.items():
            mine = out.get(k)
            if mine is None:
                continue
            new: Value
            if isinstance(mine, int) and isinstance(v, int):
                new = mine - v if mine > v else 0
            elif isinstance(mine, Ranges) and isinstance(v, Ranges):
                new = mine - v
            elif isinstance(mine, frozenset) and isinstance(v, frozenset):
                new = mine - v
            else:
                continue
            if _nonempty(new):
                out[k] = new
            else:
                del out[k]
        return _wrap(out)

    def contains(self, other: Resources) -> bool:
        """True when ``other`` fits inside ``self`` (every scalar, range and set item)."""
        mine = self._v
        for k, v in other._v.items():
            m = mine.get(k)
            if m is None:
                return False
            if isinstance(v, int):
                if not isinstance(m, int) or m < v:
                    return False
            elif isinstance(v, Ranges):
                if not isinstance(m, Ranges) or not m.contains(v):
                    return False
            elif not isinstance(m, frozenset) or not v <= m:
                return False
        return True

    def __ge__(self, other: Resources) -> bool:
        return self.contains(other)

    def only(self, names: Iterable[str]) -> Resources:
        keep = set(names)
        return _wrap({k: v for k, v in self._v.items() if k in keep})

    def pick_ports(self, count: int, name: str = "ports") -> Ranges:
        """The lowest ``count`` ports available; raises when there are not enough."""
        have = self.ranges(name)
        if len(have) < count:
            raise ResourceError(f"need {count} {name} but only {len(have)} are available")
        return have.first(count)

    # -- output -------------------------------------------------------------------------------
    def __str__(self) -> str:
        parts = []
        for k, v in self._v.items():
            if isinstance(v, int):
                parts.append(f"{k}:{_fmt(v)}")
            elif isinstance(v, Ranges):
                parts.append(f"{k}:{v}")
            else:
                parts.append(f"{k}:{{{','.join(sorted(v))}}}")
        return ";".join(parts)

    def to_json(self, role: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for k, v in self._v.items():
            item: dict[str, Any] = {"name": k}
            if isinstance(v, int):
                item["type"] = "SCALAR"
                item["scalar"] = {"value": v / SCALE}
            elif isinstance(v, Ranges):
                item["type"] = "RANGES"
                item["ranges"] = v.to_json()
            else:
                item["type"] = "SET"
                item["set"] = {"item": sorted(v)}
            if role is not None:
                item["role"] = "*"
                item["allocation_info"] = {"role": role}
            out.append(item)
        return out

    def to_flat(self) -> dict[str, Any]:
        """The ``/master/state`` shape: numbers for scalars, strings for ranges and sets."""
        out: dict[str, Any] = {"cpus": 0.0, "disk": 0.0, "gpus": 0.0, "mem": 0.0}
        for k, v in self._v.items():
            if isinstance(v, int):
                out[k] = v / SCALE
            elif isinstance(v, Ranges):
                out[k] = str(v)
            else:
                out[k] = "{" + ",".join(sorted(v)) + "}"
        return out


EMPTY = Resources()


def _wrap(values: dict[str, Value]) -> Resources:
    r = Resources.__new__(Resources)
    r._v = values
    return r


def _nonempty(v: Value) -> bool:
    return v > 0 if isinstance(v, int) else bool(v)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _fmt(millis: int) -> str:
    whole, frac = divmod(millis, SCALE)
    return str(whole) if not frac else f"{whole}.{frac:03d}".rstrip("0")


def _combine(old: Value | None, new: Value, where: str) -> Value:
    if old is None:
        return new
    if isinstance(old, int) and isinstance(new, int):
        return old + new
    if isinstance(old, Ranges) and isinstance(new, Ranges):
        return old + new
    if isinstance(old, frozenset) and isinstance(new, frozenset):
        return old | new
    raise ResourceError(f"bad resource '{where}': mixes value types for one name")


def _parse_ranges(raw: str, tok: str) -> Ranges:
    if not raw.endswith("]"):
        raise ResourceError(f"bad resource '{tok}': ranges must look like [1-10,20-30]")
    body = raw[1:-1].strip()
    pairs = []
    for part in body.split(",") if body else []:
        m = _RANGE.match(part)
        if not m:
            raise ResourceError(f"bad resource '{tok}': bad range '{part.strip()}'")
        b, e = int(m.group(1)), int(m.group(2))
        if b > e:
            raise ResourceError(f"bad resource '{tok}': range '{part.strip()}' ends before it begins")
        pairs.append((b, e))
    return Ranges(pairs)


def _parse_set(raw: str, tok: str) -> frozenset[str]:
    if not raw.endswith("}"):
        raise ResourceError(f"bad resource '{tok}': sets must look like {{a,b}}")
    items = [x.strip() for x in raw[1:-1].split(",") if x.strip()]
    return frozenset(items)
