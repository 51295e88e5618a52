"""Durable control-plane state: the :class:`Store` protocol and its backends.

Open a store from a URL with :func:`open_store`:

* ``sqlite:///relative/state.db`` or ``sqlite:////absolute/state.db`` — the embedded
  default (SQLAlchemy's convention: three slashes then a relative path, four for
  an absolute one); see :class:`SqliteStore`.
* ``memory://`` — a private in-process store; ``memory://NAME`` — the in-process
  database NAME, shared by every store opened on it (for tests); see :class:`MemoryStore`.
* ``zk://h1:2181,h2:2181/roost`` — Apache ZooKeeper (not available yet).
"""

from __future__ import annotations

from roost.coord.errors import (
    BadVersionError,
    InvalidKeyError,
    NodeExistsError,
    NoNodeError,
    StoreClosedError,
    StoreError,
    ValueTooLargeError,
)
from roost.coord.memory import MemoryDatabase, MemoryStore
from roost.coord.sqlite import SqliteStore
from roost.coord.store import Leadership, Store
from roost.coord.watch import Watch, WatchEvent

__all__ = [
    "BadVersionError",
    "InvalidKeyError",
    "Leadership",
    "MemoryDatabase",
    "MemoryStore",
    "NoNodeError",
    "NodeExistsError",
    "SqliteStore",
    "Store",
    "StoreClosedError",
    "StoreError",
    "ValueTooLargeError",
    "Watch",
    "WatchEvent",
    "open_store",
]

_EXPECTED = "expected sqlite:///relative.db, sqlite:////absolute.db, memory:// or zk://hosts/path"


def open_store(url: str, *, session_timeout: float = 10.0, poll_interval: float = 0.5) -> Store:
    """Open the store named by ``url`` (see the module docstring for the forms).

    ``session_timeout`` and ``poll_interval`` tune :class:`SqliteStore`. Raises
    ``ValueError`` naming what is wrong with a malformed URL.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        raise ValueError(f"store URL {url!r} has no scheme://; {_EXPECTED}")
    scheme = scheme.lower()
    if scheme == "sqlite":
        return SqliteStore(
            _sqlite_path(url, rest), session_timeout=session_timeout, poll_interval=poll_interval
        )
    if scheme == "memory":
        if not rest:
            return MemoryStore()
        if "/" in rest or "?" in rest or "#" in rest:
            raise ValueError(f"memory store URL {url!r}: the name after memory:// must be plain")
        return MemoryStore(MemoryDatabase.named(rest))
    if scheme == "zk":
        raise StoreError(
            f"ZooKeeper backend is not available yet (store URL {url!r}); "
            "use sqlite:///path for a single master"
        )
    raise ValueError(f"store URL {url!r} has unknown scheme {scheme!r}; {_EXPECTED}")


def _sqlite_path(url: str, rest: str) -> str:
    if not rest.startswith("/"):
        raise ValueError(
            f"sqlite URL {url!r} has a host part; write sqlite:///relative.db "
            "(three slashes) or sqlite:////absolute.db (four slashes)"
        )
    path = rest[1:]
    if not path:
        raise ValueError(f"sqlite URL {url!r} names no database file")
    if "?" in path or "#" in path:
        raise ValueError(f"sqlite URL {url!r}: query strings and fragments are not supported")
    return path
