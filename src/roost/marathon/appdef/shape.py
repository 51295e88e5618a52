"""JSON shapes: check a decoded JSON value against a declared type and return it cleaned.

The app schema (:mod:`.schema`) is data built from these kinds, like Marathon's RAML types
read by Play JSON. Checking records two sorts of failure in a :class:`Shape` run:

- wrong JSON types and missing required keys (HTTP 400, codes listed in :mod:`.errors`);
- keys the shape does not know (HTTP 422, ``"unknown property"``), unless the shape lists
  them as *ignored*: accepted so that bodies copied from a GET or written for a newer
  Marathon still post, and dropped.

The cleaned value has ``null`` members, ignored and unknown keys removed, numbers as
``float`` and integers as ``int``. ``null`` for an optional member means "absent", as with
Play's ``readNullable``.
"""

from __future__ import annotations

import math
import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from roost.marathon.appdef.errors import Issues, at

UNKNOWN_PROPERTY = "unknown property"
_INT32 = 2**31 - 1


@dataclass
class Shape:
    """One checking run: where type failures and unknown keys were found."""

    types: Issues = field(default_factory=Issues)
    unknown: Issues = field(default_factory=Issues)


class Kind(ABC):
    """A JSON type."""

    @abstractmethod
    def check(self, value: object, path: str, run: Shape) -> Any:
        """The cleaned value, or ``None`` after recording a failure in ``run``."""


@dataclass(frozen=True)
class Scalar(Kind):
    """JSON scalars: ``number`` (float), ``int``, ``string``, ``bool``, ``text``, ``any``.

    ``text`` takes a string or an integer (as in a constraint value) and yields a string.
    """

    name: str

    def check(self, value: object, path: str, run: Shape) -> Any:
        code = self._failure(value)
        if code:
            run.types.add(path, code)
            return None
        if self.name == "number":
            return float(value)  # type: ignore[arg-type]
        if self.name == "int":
            return int(value)  # type: ignore[call-overload]
        if self.name == "text":
            return str(value)
        return value

    def _failure(self, value: object) -> str | None:
        if self.name == "number":
            return None if _finite_number(value) else "error.expected.jsnumber"
        if self.name == "int":
            # any integer is a number, however large; only NaN and infinities are not
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or (isinstance(value, float) and not math.isfinite(value)):
                return "error.expected.jsnumber"
            return None if _int32(value) else "error.expected.int"
        if self.name == "string":
            return None if isinstance(value, str) else "error.expected.jsstring"
        if self.name == "text":
            ok = isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
            return None if ok else "error.expected.jsstring"
        if self.name == "bool":
            return None if isinstance(value, bool) else "error.expected.jsboolean"
        return None


def _finite_number(value: object) -> bool:
    """A JSON number a float can hold: not a bool, NaN, an infinity or a 400-digit integer."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, int):
        return abs(value) <= sys.float_info.max
    return math.isfinite(value)


def _int32(value: object) -> bool:
    """A whole number within 32 bits, like Play's ``IntReads`` (``2.0`` counts)."""
    if isinstance(value, int):
        return abs(value) <= _INT32
    return isinstance(value, float) and value.is_integer() and abs(value) <= _INT32


NUMBER, INT, STRING, BOOL, TEXT, ANY = (
    Scalar(n) for n in ("number", "int", "string", "bool", "text", "any")
)


@dataclass(frozen=True)
class ListOf(Kind):
    item: Kind

    def check(self, value: object, path: str, run: Shape) -> Any:
        if not isinstance(value, list):
            run.types.add(path, "error.expected.jsarray")
            return None
        return [self.item.check(v, at(path, i), run) for i, v in enumerate(value)]


@dataclass(frozen=True)
class MapOf(Kind):
    """A JSON object with free keys and values of one kind (``env``, ``labels``)."""

    value: Kind

    def check(self, value: object, path: str, run: Shape) -> Any:
        if not isinstance(value, dict):
            run.types.add(path, "error.expected.jsobject")
            return None
        return {str(k): self.value.check(v, at(path, str(k)), run) for k, v in value.items()}


@dataclass(frozen=True)
class Obj(Kind):
    """A JSON object with known members; ``open`` keeps unknown members unchecked."""

    fields: Mapping[str, Kind]
    required: frozenset[str] = frozenset()
    ignored: frozenset[str] = frozenset()
    open: bool = False

    def check(self, value: object, path: str, run: Shape) -> Any:
        if not isinstance(value, dict):
            run.types.add(path, "error.expected.jsobject")
            return None
        cleaned: dict[str, Any] = {}
        for key, member in value.items():
            kind = self.fields.get(key)
            if kind is not None:
                if member is not None or key in self.required:
                    cleaned[key] = kind.check(member, at(path, key), run)
            elif self.open:
                cleaned[key] = member
            elif key not in self.ignored:
                run.unknown.add(at(path, str(key)), UNKNOWN_PROPERTY)
        for key in sorted(self.required - value.keys()):
            run.types.add(at(path, key), "error.path.missing")
        return cleaned


@dataclass(frozen=True)
class StringOr(Kind):
    """A string, or an object of the given shape (an ``env`` value or ``{"secret": ...}``)."""

    obj: Obj

    def check(self, value: object, path: str, run: Shape) -> Any:
        if isinstance(value, dict):
            return self.obj.check(value, path, run)
        return STRING.check(value, path, run)
