"""Small reusable validation rules, each recording upstream-style messages in :class:`Issues`.

Bounds read ``"is less than 0"`` / ``"is greater than 1"`` (the wording of Marathon's
RAML-generated range checks, e.g. ``/upgradeStrategy/minimumHealthCapacity`` ->
``"is greater than 1"``); numbers print without a needless ``.0``.
"""

from __future__ import annotations

from collections.abc import Iterable

from roost.marathon.appdef.errors import Issues

MAX_PORT = 65535


def show(number: float) -> str:
    """``1.0`` -> ``"1"``, ``0.5`` -> ``"0.5"``, ``1e6`` -> ``"1000000"``."""
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def in_range(
    issues: Issues, path: str, value: float | None, low: float, high: float | None = None
) -> None:
    """``low <= value <= high`` (``high`` None: no upper bound); ``None`` passes."""
    if value is None:
        return
    if value < low:
        issues.add(path, f"is less than {show(low)}")
    elif high is not None and value > high:
        issues.add(path, f"is greater than {show(high)}")


def one_of(issues: Issues, path: str, value: str | None, allowed: Iterable[str]) -> None:
    """``value`` must be one of ``allowed`` (``None`` passes)."""
    choices = list(allowed)
    if value is not None and value not in choices:
        issues.add(path, "must be one of " + ", ".join(choices))


def port(issues: Issues, path: str, value: int | None) -> None:
    in_range(issues, path, value, 0, MAX_PORT)


def unique_names(issues: Issues, path: str, names: Iterable[str | None]) -> None:
    """Named ports must not share a name (``AppValidation.portDefinitionsValidator``)."""
    seen = [n for n in names if n is not None]
    if len(seen) != len(set(seen)):
        issues.add(path, "Port names must be unique.")


def not_blank(issues: Issues, path: str, value: str | None) -> None:
    if value is not None and not value.strip():
        issues.add(path, "must not be empty")
