"""Value checks for configuration objects: a wrong type is a ``TypeError`` and a value out of
range a ``ValueError``, each naming ``Owner.field`` and the value it got, so a bad setting
fails where it is made rather than as a strange error on the first request."""

from __future__ import annotations

import math
from typing import Any


def check_int(owner: str, name: str, value: Any, *, minimum: int = 0) -> None:
    """``value`` is an ``int`` (not a ``bool``) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{owner}.{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}.{name} must be at least {minimum}, got {value}")


def check_optional_int(owner: str, name: str, value: Any, *, minimum: int = 1) -> None:
    """``None`` (no limit) or an integer of at least ``minimum``."""
    if value is not None:
        check_int(owner, name, value, minimum=minimum)


def check_seconds(owner: str, name: str, value: Any, *, optional: bool = True) -> None:
    """A finite number of seconds greater than 0; ``None`` turns the timer off when
    ``optional``."""
    if value is None and optional:
        return
    off = " (or None for no limit)" if optional else ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{owner}.{name} must be a number of seconds{off}, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"{owner}.{name} must be a finite number of seconds greater than 0{off}, got {value!r}"
        )


def check_bool(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{owner}.{name} must be True or False, got {value!r}")


def check_label(owner: str, name: str, value: Any) -> None:
    """A label for metric names: a non-empty string without whitespace. ``/`` is allowed, as
    in Linkerd's client labels (``$/inet/127.1/8080``)."""
    if not isinstance(value, str):
        raise TypeError(f"{owner}.{name} must be a string, got {value!r}")
    if not value or len(value) > 1000 or not value.isprintable() or " " in value:
        raise ValueError(
            f"{owner}.{name} must be 1-1000 printable characters without spaces, got {value!r}"
        )
