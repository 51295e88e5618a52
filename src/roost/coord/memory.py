"""In-process store with the same semantics as the durable backends (for unit tests).

A :class:`MemoryDatabase` plays the part of the SQLite file or ZooKeeper ensemble;
each :class:`MemoryStore` on it is one session, so two stores on one database
behave like two processes: they see each other's writes, watches and ephemerals.
"""

from __future__ import annotations

import builtins
import itertools
import weakref
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from roost.coord.election import current_leader, run_election
from roost.coord.errors import NodeExistsError, StoreClosedError
from roost.coord.rules import (
    CREATE_ONLY,
    check_delete,
    check_key,
    check_prefix,
    check_value,
    child_names,
    is_under,
    next_version,
)
from roost.coord.store import Leadership
from roost.coord.watch import Watch, WatchEvent, WatchHub

_sessions = itertools.count(1)
_named: weakref.WeakValueDictionary[str, MemoryDatabase] = weakref.WeakValueDictionary()


@dataclass
class _Node:
    value: bytes
    version: int
    owner: int | None  # session id of an ephemeral's owner


class MemoryDatabase:
    """The shared tree of every :class:`MemoryStore` opened on it."""

    def __init__(self) -> None:
        self.nodes: dict[str, _Node] = {}
        self.sequences: dict[str, int] = {}
        self.stores: set[MemoryStore] = set()

    @classmethod
    def named(cls, name: str) -> MemoryDatabase:
        """The process-wide database called ``name`` (``memory://name``); it lives as long
        as some store holds it."""
        database = _named.get(name)
        if database is None:
            database = _named[name] = cls()
        return database

    def publish(self, events: builtins.list[WatchEvent]) -> None:
        for store in self.stores:
            store._hub.publish(events)


class MemoryStore:
    """A session on a :class:`MemoryDatabase` (a private one by default)."""

    def __init__(self, database: MemoryDatabase | None = None) -> None:
        self.database = database if database is not None else MemoryDatabase()
        self.database.stores.add(self)
        self._session = next(_sessions)
        self._hub = WatchHub()
        self._closed = False

    async def get(self, key: str) -> tuple[bytes, int] | None:
        """See :meth:`roost.coord.store.Store.get`."""
        node = self._db().nodes.get(check_key(key))
        return None if node is None else (node.value, node.version)

    async def put(self, key: str, value: bytes, expected_version: int | None = None) -> int:
        """See :meth:`roost.coord.store.Store.put`."""
        check_value(check_key(key), value)
        nodes = self._db().nodes
        current = nodes.get(key)
        version = next_version(key, None if current is None else current.version, expected_version)
        nodes[key] = _Node(value, version, None if current is None else current.owner)
        self.database.publish([WatchEvent("put", key, value, version)])
        return version

    async def delete(self, key: str, expected_version: int | None = None) -> None:
        """See :meth:`roost.coord.store.Store.delete`."""
        nodes = self._db().nodes
        current = nodes.get(check_key(key))
        version = check_delete(key, None if current is None else current.version, expected_version)
        del nodes[key]
        self.database.publish([WatchEvent("delete", key, None, version)])

    async def list(self, prefix: str) -> builtins.list[str]:
        """See :meth:`roost.coord.store.Store.list`."""
        check_prefix(prefix)
        return child_names(prefix, [k for k in self._db().nodes if is_under(k, prefix)])

    def watch(self, prefix: str) -> Watch:
        """See :meth:`roost.coord.store.Store.watch`."""
        self._db()
        return self._hub.open(check_prefix(prefix))

    async def ephemeral(self, key: str, value: bytes) -> None:
        """See :meth:`roost.coord.store.Store.ephemeral`."""
        self._create_ephemeral(check_key(key), value)

    async def ephemeral_sequential(self, prefix: str, value: bytes) -> str:
        """See :meth:`roost.coord.election.CandidateStore.ephemeral_sequential`."""
        parent = check_key(prefix).rsplit("/", 1)[0]
        sequences = self._db().sequences
        sequence = sequences.get(parent, 0)
        sequences[parent] = sequence + 1
        key = check_key(f"{prefix}{sequence:010d}")
        self._create_ephemeral(key, value)
        return key

    def election(self, name: str, my_info: bytes) -> AbstractAsyncContextManager[Leadership]:
        """See :meth:`roost.coord.store.Store.election`."""
        return run_election(self, name, my_info)

    async def leader(self, name: str) -> bytes | None:
        """See :meth:`roost.coord.store.Store.leader`."""
        return await current_leader(self, name)

    async def expire_session(self) -> None:
        """Fault injection: end this session as a timeout would (its ephemerals vanish,
        its leaderships are lost) while the store stays usable with a new session."""
        self._db()
        self._drop_ephemerals()
        self._session = next(_sessions)

    async def close(self) -> None:
        """See :meth:`roost.coord.store.Store.close`."""
        if self._closed:
            return
        self._closed = True
        self._drop_ephemerals()
        self.database.stores.discard(self)
        self._hub.close()

    def _db(self) -> MemoryDatabase:
        if self._closed:
            raise StoreClosedError("the memory store is closed")
        return self.database

    def _create_ephemeral(self, key: str, value: bytes) -> None:
        check_value(key, value)
        nodes = self._db().nodes
        if key in nodes:
            raise NodeExistsError(f"node {key} already exists", key=key)
        version = next_version(key, None, CREATE_ONLY)
        nodes[key] = _Node(value, version, self._session)
        self.database.publish([WatchEvent("put", key, value, version)])

    def _drop_ephemerals(self) -> None:
        nodes = self.database.nodes
        mine = sorted(k for k, n in nodes.items() if n.owner == self._session)
        events = [WatchEvent("delete", k, None, nodes.pop(k).version) for k in mine]
        self.database.publish(events)
