"""The :class:`Store` protocol: the only home of durable control-plane state.

Agent registry, framework ids, Marathon apps and deployments, Chronos jobs and
namerd dtabs all live behind this interface. It is shaped so that ZooKeeper
maps onto it directly (``get``/``set``/``delete``/``get_children``, ephemeral
znodes, the leader-election recipe); see DESIGN.md, section "State".

Keys are absolute ``/``-separated paths (see :mod:`roost.coord.rules`); parents
are implicit, so writing ``/a/b/c`` makes ``list("/a/b")`` return ``["c"]``.
Values are bytes, JSON by convention.
"""

from __future__ import annotations

import asyncio
import builtins
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from roost.coord.watch import Watch


@dataclass(eq=False)
class Leadership:
    """What ``async with store.election(...)`` yields once this candidate leads.

    ``lost`` is set when leadership ends without the holder leaving: its session
    expired, its candidate node was deleted, or its store was closed. A leader
    should stop acting as one as soon as ``lost`` is set. As with ZooKeeper, a
    stalled leader may learn of its expiry after a successor has taken over:
    guard writes that must not interleave with ``expected_version``.
    """

    name: str
    key: str
    """The candidate node that holds the leadership."""
    info: bytes
    lost: asyncio.Event = field(default_factory=asyncio.Event)


class Store(Protocol):
    """Durable, watchable key/value tree with sessions (ephemerals) and leader election."""

    async def get(self, key: str) -> tuple[bytes, int] | None:
        """``(value, version)`` of the node at ``key``, or ``None`` when there is none."""
        ...

    async def put(self, key: str, value: bytes, expected_version: int | None = None) -> int:
        """Create or update ``key`` and return its new version (0 on create, +1 per update).

        With ``expected_version`` the write is a compare-and-set: ``-1`` requires the
        node to be absent (:class:`NodeExistsError` otherwise); ``n >= 0`` requires it
        at version ``n`` (:class:`BadVersionError`, or :class:`NoNodeError` if absent).
        Updating an ephemeral node keeps it ephemeral.
        """
        ...

    async def delete(self, key: str, expected_version: int | None = None) -> None:
        """Remove ``key`` (:class:`NoNodeError` if absent); CAS as in :meth:`put`."""
        ...

    async def list(self, prefix: str) -> builtins.list[str]:
        """Sorted names of the direct children of ``prefix`` (``[]`` when it has none)."""
        ...

    def watch(self, prefix: str) -> Watch:
        """Stream of puts and deletes at or under ``prefix``, registered on return."""
        ...

    async def ephemeral(self, key: str, value: bytes) -> None:
        """Create ``key`` owned by this store's session; it vanishes when the session ends
        (close, crash past the session timeout). :class:`NodeExistsError` if taken."""
        ...

    def election(self, name: str, my_info: bytes) -> AbstractAsyncContextManager[Leadership]:
        """Stand for leader of ``name``; entering waits until this candidate leads.

        Leaving the block (or cancelling the wait) withdraws the candidacy. Mirrors
        the ZooKeeper recipe: ephemeral sequential candidates, the lowest live one leads.
        """
        ...

    async def leader(self, name: str) -> bytes | None:
        """The ``my_info`` of the current leader of ``name``, or ``None`` if nobody leads."""
        ...

    async def close(self) -> None:
        """End the session: delete its ephemerals, end its watches. Idempotent."""
        ...
