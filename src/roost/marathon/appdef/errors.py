"""Validation failures of app definitions, in Marathon's error shape.

Hierarchy::

    AppValidationError (Exception)
        status 400  "Invalid JSON"         the body has the wrong JSON types or misses a
                                           required key (Play-JSON style codes, below)
        status 422  "Object is not valid"  well-typed but semantically invalid; messages are
                                           upstream's where known (``AppValidation.scala``)

``details`` is ``[{"path": "/upgradeStrategy/minimumHealthCapacity", "errors": [...]}]``:
one entry per path in first-seen order, array indexes written ``/constraints(0)``, the
whole object ``/`` (``api/v2/Validation.scala``). Type codes used for 400:

- ``error.expected.jsnumber``, ``error.expected.jsstring``, ``error.expected.jsboolean``,
  ``error.expected.jsarray``, ``error.expected.jsobject``: the value has another JSON type
  (``true`` where a number belongs is a type error, as in JSON; so are NaN and infinities);
- ``error.expected.int``: a number where an integer (32-bit) belongs, e.g. ``1.5``;
- ``error.path.missing``: a required key is absent (``id``, ``fetch[].uri``, ...).
"""

from __future__ import annotations

from typing import Any

INVALID_JSON = "Invalid JSON"
NOT_VALID = "Object is not valid"


class AppValidationError(Exception):
    """A rejected app definition: ``status`` 400 or 422, ``message`` and ``details``."""

    def __init__(self, status: int, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(f"{status} {message}: {details}")
        self.status = status
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        """The HTTP response body: ``{"message": ..., "details": [...]}``."""
        return {"message": self.message, "details": self.details}


def at(path: str, *keys: str | int) -> str:
    """Extend a JSON path: keys become ``/key``, integers become ``(i)``."""
    for key in keys:
        path = f"{path}({key})" if isinstance(key, int) else f"{path}/{key}"
    return path


class Issues:
    """Collects failures by path so that a caller sees all of them at once."""

    def __init__(self) -> None:
        self._by_path: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        """Record ``message`` at ``path`` (``""`` means the whole object, shown as ``/``)."""
        messages = self._by_path.setdefault(path or "/", [])
        if message not in messages:
            messages.append(message)

    def __bool__(self) -> bool:
        return bool(self._by_path)

    def details(self) -> list[dict[str, Any]]:
        return [{"path": p, "errors": list(m)} for p, m in self._by_path.items()]

    def raise_if_any(self, status: int, message: str) -> None:
        if self._by_path:
            raise AppValidationError(status, message, self.details())
