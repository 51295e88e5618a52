"""Errors raised by every :class:`~roost.coord.store.Store` backend.

Shaped after kazoo's ``exceptions.py`` so the ZooKeeper backend maps one to one::

    StoreError                      base: anything the state layer refuses or fails to do
    ├── NoNodeError                 the key does not exist (ZooKeeper NONODE)
    ├── NodeExistsError             create-only write on a key that exists (NODEEXISTS)
    ├── BadVersionError             compare-and-set saw another version (BADVERSION)
    ├── StoreClosedError            the store (its session) was closed
    ├── InvalidKeyError             malformed key; also a ValueError
    └── ValueTooLargeError          value over MAX_VALUE_BYTES; also a ValueError

Backend failures (a locked or unreadable SQLite file, ...) are translated into a
plain :class:`StoreError` at the backend boundary; ``sqlite3.Error`` never escapes.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error raised by the state layer; ``key`` names the node when there is one."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class NoNodeError(StoreError):
    """The key does not exist (or belonged to a session that has ended)."""


class NodeExistsError(StoreError):
    """A create-only write (``expected_version=-1`` or an ephemeral) found the key taken."""


class BadVersionError(StoreError):
    """A compare-and-set write expected one version and found another."""

    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(f"version mismatch at {key}: expected {expected}, found {actual}", key=key)
        self.expected = expected
        self.actual = actual


class StoreClosedError(StoreError):
    """The store was closed; its ephemerals are gone and it accepts no more calls."""


class InvalidKeyError(StoreError, ValueError):
    """A key is not an absolute ``/a/b`` path within the limits of :mod:`roost.coord.rules`."""


class ValueTooLargeError(StoreError, ValueError):
    """A value is larger than :data:`roost.coord.rules.MAX_VALUE_BYTES`."""
