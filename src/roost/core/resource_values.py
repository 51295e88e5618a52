"""The value of one resource: integer thousandths for scalars, :class:`Ranges`, or a set of
strings; how each is read from text and from Mesos JSON, combined and printed.

:mod:`roost.core.resources` builds the named bag of these (:class:`Resources`).
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from roost.core.ranges import Ranges

Value = int | Ranges | frozenset[str]

SCALE = 1000
#: Largest scalar accepted, in units. Thousandths stay below 10**15, so every value has at most
#: 15 significant digits and survives the trip through a JSON double exactly.
MAX_SCALAR = 10**12
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]{0,63}", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,4})?", re.ASCII)
_SET_FORBIDDEN = frozenset("[]{};:")
_MILLI = Decimal("0.001")


class ResourceError(ValueError):
    """A resource string or JSON document that cannot be understood."""


def to_millis(value: float | int | str, name: str = "value") -> int:
    """Convert a scalar to thousandths, rounding half up to the nearest 0.001.

    Mesos ``llround``s the binary double; rounding the decimal instead only differs for input
    with more than three decimals (``1.0005`` gives 1001 here, 1000 in Mesos).
    """
    try:
        return _millis(value)
    except ResourceError as e:
        raise ResourceError(f"'{name}': {e}") from None


def _millis(value: object) -> int:
    """``to_millis`` without the name; the error message is just the reason."""
    d: Decimal
    if isinstance(value, bool):
        raise ResourceError(f"{value!r} is not a number")
    if isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ResourceError(f"'{value}' is not a finite number")
        # repr() is the shortest text that reads back as this float: the decimal the user wrote.
        d = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            if text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
                raise ResourceError(f"'{value}' is not a finite number")
            raise ResourceError(f"'{value}' is not a number")
        d = Decimal(text)
    else:
        raise ResourceError(f"{value!r} is not a number")
    if d < 0:
        raise ResourceError(f"'{value}' is negative")
    if d > MAX_SCALAR:
        raise ResourceError(f"'{value}' is too large (max {MAX_SCALAR})")
    return int(d.quantize(_MILLI, rounding=ROUND_HALF_UP).scaleb(3))


def _nonempty(v: Value) -> bool:
    return v > 0 if isinstance(v, int) else bool(v)


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
    raise ResourceError(f"{where}: {_kind(new)} given for a name already holding {_kind(old)}")


def _kind(v: Value) -> str:
    return "a scalar" if isinstance(v, int) else "ranges" if isinstance(v, Ranges) else "a set"


def _json_value(item: dict[str, Any]) -> Value:
    """The value of one Mesos ``Resource`` object; errors are bare reasons."""
    if item.get("role") not in (None, "*") or item.get("reservations") or item.get("reservation"):
        raise ResourceError("reserved resources (roles other than '*') are not supported")
    rtype = item.get("type")
    if rtype == "SCALAR":
        scalar = item.get("scalar")
        if not isinstance(scalar, dict) or "value" not in scalar:
            raise ResourceError("SCALAR needs 'scalar': {'value': n}")
        value = scalar["value"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ResourceError(f"'scalar.value' must be a number, not {value!r}")
        return _millis(value)
    if rtype == "RANGES":
        return Ranges.from_json(item.get("ranges"))
    if rtype == "SET":
        st = item.get("set")
        elems = st.get("item", []) if isinstance(st, dict) else None
        if not isinstance(elems, list) or not all(isinstance(x, str) for x in elems):
            raise ResourceError("SET needs 'set': {'item': [strings]}")
        return frozenset(elems)
    if rtype is None:
        raise ResourceError("missing 'type' (SCALAR, RANGES or SET)")
    raise ResourceError(f"unknown type {rtype!r} (expected SCALAR, RANGES or SET)")


def _parse_ranges(raw: str, tok: str) -> Ranges:
    try:
        return Ranges.parse(raw)
    except ValueError as e:
        raise ResourceError(f"bad resource '{tok}': {e}") from None


def _parse_set(raw: str, tok: str) -> frozenset[str]:
    if not raw.endswith("}"):
        raise ResourceError(f"bad resource '{tok}': sets must look like {{a,b}}")
    items = [x.strip() for x in raw[1:-1].split(",")]
    for x in items:
        if _SET_FORBIDDEN.intersection(x):
            raise ResourceError(f"bad resource '{tok}': bad set item '{x}'")
    return frozenset(x for x in items if x)
