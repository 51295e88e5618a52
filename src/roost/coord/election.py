"""Leader election over any store with ephemeral sequential nodes.

The ZooKeeper recipe (and kazoo's ``Election``): each candidate creates an
ephemeral sequential node under ``/_elections/<name>``; the lowest live sequence
leads. A candidate whose session ends loses its node and with it the lead, so
"losing the session loses leadership" holds by construction.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from roost.coord.errors import NoNodeError, StoreClosedError, StoreError
from roost.coord.rules import check_segment
from roost.coord.store import Leadership, Store
from roost.coord.watch import Watch

ELECTION_ROOT = "/_elections"
"""Reserved prefix holding every election's candidates."""

CANDIDATE_PREFIX = "n_"


class CandidateStore(Store, Protocol):
    """A store that can also create ephemeral sequential nodes (ZooKeeper's
    ``create(ephemeral=True, sequence=True)``), which the election recipe needs."""

    async def ephemeral_sequential(self, prefix: str, value: bytes) -> str:
        """Create an ephemeral node at ``prefix`` + a 10-digit sequence number; return its key."""
        ...


def election_path(name: str) -> str:
    """The directory holding the candidates of election ``name``."""
    return f"{ELECTION_ROOT}/{check_segment(name, 'election name')}"


async def current_leader(store: Store, name: str) -> bytes | None:
    """``my_info`` of the lowest live candidate of ``name``, or ``None``."""
    directory = election_path(name)
    while True:
        children = await store.list(directory)
        if not children:
            return None
        found = await store.get(f"{directory}/{children[0]}")
        if found is not None:
            return found[0]
        # The leader left between list and get: look again.


@asynccontextmanager
async def run_election(
    store: CandidateStore, name: str, my_info: bytes
) -> AsyncIterator[Leadership]:
    """Implementation of :meth:`Store.election` shared by the backends."""
    directory = election_path(name)
    # Watch before standing so no change between "stand" and "look" is missed.
    async with store.watch(directory) as watch:
        key = await _stand(store, directory, my_info)
        try:
            await _wait_until_lowest(store, directory, key, watch)
            leadership = Leadership(name=name, key=key, info=my_info)
            monitor = asyncio.create_task(_watch_for_loss(watch, key, leadership.lost))
            try:
                yield leadership
            finally:
                monitor.cancel()
        finally:
            await _withdraw(store, key)


async def _stand(store: CandidateStore, directory: str, my_info: bytes) -> str:
    # A backend may finish creating the candidate after we are cancelled (SQLite's
    # worker thread); left behind, that node would lead forever, so withdraw it.
    create = asyncio.ensure_future(
        store.ephemeral_sequential(f"{directory}/{CANDIDATE_PREFIX}", my_info)
    )
    try:
        return await asyncio.shield(create)
    except asyncio.CancelledError:
        with contextlib.suppress(StoreError):
            await _withdraw(store, await create)
        raise


async def _wait_until_lowest(store: Store, directory: str, key: str, watch: Watch) -> None:
    me = key.rsplit("/", 1)[1]
    while True:
        children = await store.list(directory)
        if me not in children:
            raise StoreError(f"candidacy {key} ended before it led (session expired?)", key=key)
        if children[0] == me:
            return
        if await anext(watch, None) is None:
            raise StoreClosedError("store closed while waiting for leadership", key=key)


async def _watch_for_loss(watch: Watch, key: str, lost: asyncio.Event) -> None:
    async for event in watch:
        if event.kind == "delete" and event.key == key:
            break
    lost.set()  # our node is gone, or the store closed: either way we no longer lead


async def _withdraw(store: Store, key: str) -> None:
    try:
        await store.delete(key)
    except (NoNodeError, StoreClosedError):
        pass  # already gone with the session
