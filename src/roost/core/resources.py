"""The Mesos resource model: scalars, ranges and sets, by name.

Scalars are kept as integer thousandths, as Mesos keeps three decimal places
(``convertToFixed`` in ``src/common/values.cpp``), so repeated arithmetic never drifts
(``0.1 + 0.2 == 0.3`` here). Input is rounded half up from its decimal text, so ``0.1`` is
exactly 100 thousandths however it arrived. Ranges are inclusive and merged; sets are sets of
strings. Any name is allowed; ``cpus``, ``mem`` (MB), ``disk`` (MB), ``gpus`` and ``ports`` are
the standard ones. Reserved resources (roles other than ``*``) are not supported and rejected.

Three textual forms are supported:

* the agent flag syntax ``cpus:4;mem:4096;ports:[31000-32000];gpus:0;zones:{a,b}`` (like the
  Mesos ``--resources`` flag, a JSON list is accepted there too);
* the Mesos JSON list ``[{"name":"cpus","type":"SCALAR","scalar":{"value":4}}, ...]``;
* the flat object of ``/master/state`` ``{"cpus":4.0,"ports":"[31000-32000]"}`` (output only).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from roost.core.ranges import Ranges
from roost.core.resource_values import (
    _NAME,
    MAX_SCALAR,
    SCALE,
    ResourceError,
    Value,
    _combine,
    _fmt,
    _json_value,
    _millis,
    _nonempty,
    _parse_ranges,
    _parse_set,
    to_millis,
)

__all__ = [
    "EMPTY",
    "MAX_SCALAR",
    "SCALE",
    "STANDARD_SCALARS",
    "ResourceError",
    "Resources",
    "Value",
    "to_millis",
]

STANDARD_SCALARS = ("cpus", "gpus", "mem", "disk")
MAX_TEXT = 65536


class Resources:
    """An immutable bag of named resources. ``a + b``, ``a - b``, ``a.contains(b)``.

    Values are ``int`` thousandths for scalars, :class:`Ranges`, or ``frozenset[str]``. One name
    has one type; adding a scalar ``x`` to a ranges ``x`` is a :class:`ResourceError`. Empty
    values (zero, no ranges, no items) are never stored.
    """

    __slots__ = ("_v",)

    _v: dict[str, Value]

    def __init__(self, values: Mapping[str, Value | AbstractSet[str]] | None = None) -> None:
        """Build from ``{name: value}``; scalars are *thousandths* (see :meth:`scalars`)."""
        v: dict[str, Value] = {}
        if values:
            for name, raw in values.items():
                if not isinstance(name, str) or not _NAME.fullmatch(name):
                    raise ResourceError(f"invalid resource name {name!r}")
                val: Value
                if type(raw) is int:
                    if raw < 0:
                        raise ResourceError(f"'{name}': {raw} thousandths is negative")
                    val = raw
                elif isinstance(raw, Ranges):
                    val = raw
                elif isinstance(raw, AbstractSet):
                    if not all(isinstance(x, str) for x in raw):
                        raise ResourceError(f"'{name}': set items must be strings")
                    val = frozenset(raw)
                else:
                    raise ResourceError(
                        f"'{name}': {raw!r} is not int thousandths, Ranges or a set of strings"
                    )
                if _nonempty(val):
                    v[name] = val
        self._v = v

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def scalars(cls, **amounts: float) -> Resources:
        """``Resources.scalars(cpus=0.5, mem=128)``: scalars in units, not thousandths."""
        return cls({k: to_millis(a, k) for k, a in amounts.items()})

    @classmethod
    def parse(cls, text: str) -> Resources:
        """Parse the agent flag syntax; errors name the offending token.

        ``cpus:4;mem:4096;ports:[31000-32000];zones:{a,b}``. Repeated names add up. ``name(*)``
        (the default role) is accepted; any other role is rejected. The empty string is empty
        resources. A JSON list (starting with ``[``) is read with :meth:`from_json`.
        """
        if not isinstance(text, str):
            raise ResourceError(f"resources must be a string, not {type(text).__name__}")
        if len(text) > MAX_TEXT:
            raise ResourceError("resource string is longer than 64 KiB")
        if text.lstrip().startswith("["):
            try:
                doc = json.loads(text)
            except ValueError as e:
                raise ResourceError(f"resources look like JSON but are not: {e}") from None
            return cls.from_json(doc)
        values: dict[str, Value] = {}
        for token in text.split(";"):
            tok = token.strip()
            if not tok:
                continue
            name, sep, raw = tok.partition(":")
            name = name.strip()
            raw = raw.strip()
            if not sep or not name or not raw:
                raise ResourceError(f"bad resource '{tok}': expected 'name:value'")
            if name.endswith("(*)"):
                name = name[:-3].rstrip()
            if "(" in name or ")" in name:
                raise ResourceError(
                    f"bad resource '{tok}': reserved resources (roles other than '*') "
                    "are not supported"
                )
            if not _NAME.fullmatch(name):
                raise ResourceError(f"bad resource '{tok}': invalid name '{name}'")
            val: Value
            if raw.startswith("["):
                val = _parse_ranges(raw, tok)
            elif raw.startswith("{"):
                val = _parse_set(raw, tok)
            else:
                try:
                    val = _millis(raw)
                except ResourceError as e:
                    raise ResourceError(f"bad resource '{tok}': {e}") from None
            values[name] = _combine(values.get(name), val, f"bad resource '{tok}'")
        return cls(values)

    @classmethod
    def from_json(cls, items: Any) -> Resources:
        """Parse a Mesos ``Resource`` list; unknown fields are ignored, bad ones rejected.

        ``role`` ``"*"`` and ``allocation_info`` (as in offers) are accepted; reservations are
        rejected like in :meth:`parse`. Errors say where: ``resources[2] (ports): ...``.
        """
        if not isinstance(items, list):
            raise ResourceError(
                f"resources must be a list of Resource objects, not {type(items).__name__}"
            )
        values: dict[str, Value] = {}
        for i, item in enumerate(items):
            where = f"resources[{i}]"
            if not isinstance(item, dict):
                raise ResourceError(f"{where}: expected an object, got {type(item).__name__}")
            name = item.get("name")
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                raise ResourceError(f"{where}: missing or invalid 'name' {name!r}")
            where = f"{where} ({name})"
            try:
                val = _json_value(item)
            except (ResourceError, ValueError) as e:
                raise ResourceError(f"{where}: {e}") from None
            values[name] = _combine(values.get(name), val, where)
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
            old = out.get(k)
            if old is None:
                out[k] = v
            elif isinstance(old, int) and isinstance(v, int):
                out[k] = old + v
            else:
                out[k] = _combine(old, v, f"'{k}'")
        return _wrap(out)

    def __sub__(self, other: Resources) -> Resources:
        """Remove ``other``; scalars floor at zero, names that become empty disappear.

        Names ``self`` lacks, or holds with another type, are ignored.
        """
        if not other._v or not self._v:
            return self
        out = dict(self._v)
        for k, v in other._v.items():
            mine = out.get(k)
            if mine is None:
                continue
            new: Value
            if isinstance(mine, int) and isinstance(v, int):
                if mine > v:
                    out[k] = mine - v
                else:
                    del out[k]
                continue
            if isinstance(mine, Ranges) and isinstance(v, Ranges):
                new = mine - v
            elif isinstance(mine, frozenset) and isinstance(v, frozenset):
                new = mine - v
            else:
                continue
            if new:
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
        if count < 0:
            raise ResourceError(f"cannot pick a negative number ({count}) of {name}")
        have = self.ranges(name)
        if len(have) < count:
            raise ResourceError(f"need {count} {name} but only {len(have)} are available")
        return have.first(count)

    # -- output -------------------------------------------------------------------------------
    def __str__(self) -> str:
        """The agent flag syntax; :meth:`parse` reads it back."""
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
        """The Mesos ``Resource`` list; with ``role``, ``allocation_info`` as offers carry it."""
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
        """The ``/master/state`` shape: numbers for scalars, strings for ranges and sets.

        ``cpus``, ``disk``, ``gpus`` and ``mem`` are always present, as in Mesos'
        ``model(Resources)``; ranges and sets are stringified as Mesos does
        (``[31000-32000, 33000-34000]``, ``{a, b}``).
        """
        out: dict[str, Any] = {"cpus": 0.0, "disk": 0.0, "gpus": 0.0, "mem": 0.0}
        for k, v in self._v.items():
            if isinstance(v, int):
                out[k] = v / SCALE
            elif isinstance(v, Ranges):
                out[k] = str(v)
            else:
                out[k] = "{" + ", ".join(sorted(v)) + "}"
        return out


EMPTY = Resources()


def _wrap(values: dict[str, Value]) -> Resources:
    r = Resources.__new__(Resources)
    r._v = values
    return r
