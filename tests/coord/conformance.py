"""The Store conformance suite: every backend runs these same tests.

Like trio's ``testing/_check_streams.py``: a backend's test module subclasses
:class:`StoreConformance` and implements :meth:`StoreConformance.opener`, which
returns a function opening a new session (store) on one shared database, so the
tests can play several processes against the same state.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Protocol

import pytest

from roost.coord import (
    BadVersionError,
    InvalidKeyError,
    NodeExistsError,
    NoNodeError,
    Store,
    StoreClosedError,
    ValueTooLargeError,
    Watch,
    WatchEvent,
)
from roost.coord.election import election_path
from roost.coord.rules import MAX_VALUE_BYTES

EVENT_TIMEOUT = 3.0


class SessionStore(Store, Protocol):
    """What the suite needs beyond Store: the fault injection every backend offers."""

    async def expire_session(self) -> None: ...


Opener = Callable[[], SessionStore]


async def next_event(watch: Watch) -> WatchEvent:
    return await asyncio.wait_for(anext(watch), EVENT_TIMEOUT)


BAD_KEYS = [
    pytest.param("", "absolute", id="empty"),
    pytest.param("a/b", "absolute", id="relative"),
    pytest.param("/", "root", id="root"),
    pytest.param("/a/", "end with", id="trailing-slash"),
    pytest.param("/a//b", "empty segment", id="empty-segment"),
    pytest.param("/a/./b", "relative segment", id="dot"),
    pytest.param("/a/..", "relative segment", id="dotdot"),
    pytest.param("/" + "k" * 1024, "limit is 1024", id="too-long"),
    pytest.param("/a\nb", "control character", id="control-char"),
    pytest.param("/a\ud800", "Unicode", id="lone-surrogate"),
]

KEY_OPERATIONS: dict[str, Callable[[SessionStore, str], Awaitable[object]]] = {
    "get": lambda s, k: s.get(k),
    "put": lambda s, k: s.put(k, b"v"),
    "delete": lambda s, k: s.delete(k),
    "ephemeral": lambda s, k: s.ephemeral(k, b"v"),
}


class StoreConformance(ABC):
    """Behaviour every :class:`~roost.coord.Store` backend must show."""

    @abstractmethod
    def opener(self, tmp_path: Path) -> Opener:
        """Return a function that opens a new session on one shared database."""

    @pytest.fixture
    async def open_store(self, tmp_path: Path) -> AsyncIterator[Opener]:
        opener, opened = self.opener(tmp_path), []

        def open_() -> SessionStore:
            opened.append(opener())
            return opened[-1]

        yield open_
        for store in opened:
            await store.close()

    @pytest.fixture
    def store(self, open_store: Opener) -> SessionStore:
        return open_store()

    # -- get / put / delete ---------------------------------------------------------------

    async def test_get_of_missing_key_returns_none(self, store: SessionStore) -> None:
        assert await store.get("/nothing/here") is None

    async def test_put_creates_at_version_zero_and_each_update_adds_one(
        self, store: SessionStore
    ) -> None:
        assert await store.put("/apps/web", b"v0") == 0
        assert await store.put("/apps/web", b"v1") == 1
        assert await store.put("/apps/web", b"v2") == 2
        assert await store.get("/apps/web") == (b"v2", 2)

    async def test_put_with_current_version_succeeds(self, store: SessionStore) -> None:
        await store.put("/lock", b"a")
        assert await store.put("/lock", b"b", expected_version=0) == 1
        assert await store.get("/lock") == (b"b", 1)

    async def test_put_with_stale_version_raises_bad_version(self, store: SessionStore) -> None:
        await store.put("/lock", b"a")
        await store.put("/lock", b"b")
        with pytest.raises(BadVersionError) as caught:
            await store.put("/lock", b"c", expected_version=0)
        assert (caught.value.expected, caught.value.actual, caught.value.key) == (0, 1, "/lock")
        assert await store.get("/lock") == (b"b", 1)

    async def test_put_with_minus_one_creates_only_when_absent(self, store: SessionStore) -> None:
        assert await store.put("/framework/id", b"f1", expected_version=-1) == 0
        with pytest.raises(NodeExistsError):
            await store.put("/framework/id", b"f2", expected_version=-1)
        assert await store.get("/framework/id") == (b"f1", 0)

    async def test_put_with_version_on_missing_node_raises_no_node(
        self, store: SessionStore
    ) -> None:
        with pytest.raises(NoNodeError):
            await store.put("/missing", b"x", expected_version=0)
        assert await store.get("/missing") is None

    async def test_expected_version_below_minus_one_is_rejected(self, store: SessionStore) -> None:
        with pytest.raises(ValueError, match="expected_version"):
            await store.put("/a", b"x", expected_version=-2)

    async def test_delete_removes_the_node(self, store: SessionStore) -> None:
        await store.put("/a", b"x")
        await store.delete("/a")
        assert await store.get("/a") is None

    async def test_delete_of_missing_node_raises_no_node(self, store: SessionStore) -> None:
        with pytest.raises(NoNodeError):
            await store.delete("/missing")

    async def test_delete_with_version_checks_it(self, store: SessionStore) -> None:
        await store.put("/a", b"x")
        await store.put("/a", b"y")
        with pytest.raises(BadVersionError):
            await store.delete("/a", expected_version=0)
        await store.delete("/a", expected_version=1)
        assert await store.get("/a") is None

    async def test_recreated_node_starts_again_at_version_zero(self, store: SessionStore) -> None:
        await store.put("/a", b"x")
        await store.put("/a", b"y")
        await store.delete("/a")
        assert await store.put("/a", b"z") == 0

    async def test_concurrent_compare_and_set_lets_exactly_one_writer_win(
        self, open_store: Opener
    ) -> None:
        first, second = open_store(), open_store()
        await first.put("/deployment/lock", b"free")
        results = await asyncio.gather(
            first.put("/deployment/lock", b"first", expected_version=0),
            second.put("/deployment/lock", b"second", expected_version=0),
            return_exceptions=True,
        )
        assert sorted(type(r).__name__ for r in results) == ["BadVersionError", "int"]
        assert (await first.get("/deployment/lock") or (b"", -1))[1] == 1

    # -- values and keys ------------------------------------------------------------------

    async def test_value_of_exactly_one_mebibyte_round_trips(self, store: SessionStore) -> None:
        value = bytes(range(256)) * (MAX_VALUE_BYTES // 256)
        await store.put("/big", value)
        assert await store.get("/big") == (value, 0)

    @pytest.mark.parametrize("operation", ["put", "ephemeral"])
    async def test_value_over_one_mebibyte_raises_value_too_large(
        self, store: SessionStore, operation: str
    ) -> None:
        write = store.put if operation == "put" else store.ephemeral
        with pytest.raises(ValueTooLargeError, match="limit is 1048576"):
            await write("/big", b"x" * (MAX_VALUE_BYTES + 1))
        assert await store.get("/big") is None

    async def test_value_must_be_bytes(self, store: SessionStore) -> None:
        with pytest.raises(TypeError, match="must be bytes"):
            await store.put("/a", "text")  # type: ignore[arg-type]

    @pytest.mark.parametrize("operation", sorted(KEY_OPERATIONS))
    @pytest.mark.parametrize(("key", "message"), BAD_KEYS)
    async def test_invalid_key_raises_invalid_key_error(
        self, store: SessionStore, operation: str, key: str, message: str
    ) -> None:
        with pytest.raises(InvalidKeyError, match=message):
            await KEY_OPERATIONS[operation](store, key)

    @pytest.mark.parametrize("prefix", ["", "apps", "/apps/", "/a//b"])
    async def test_invalid_prefix_is_refused_by_list_and_watch(
        self, store: SessionStore, prefix: str
    ) -> None:
        with pytest.raises(InvalidKeyError):
            await store.list(prefix)
        with pytest.raises(InvalidKeyError):
            store.watch(prefix)

    # -- list -----------------------------------------------------------------------------

    async def test_list_returns_sorted_direct_children_with_implicit_parents(
        self, store: SessionStore
    ) -> None:
        for key in ["/apps/web/v2", "/apps/db", "/apps/web/v1", "/apps/api/x/y", "/apps-old"]:
            await store.put(key, b"")
        assert await store.list("/apps") == ["api", "db", "web"]
        assert await store.list("/apps/web") == ["v1", "v2"]
        assert await store.list("/apps/api") == ["x"]
        assert await store.list("/") == ["apps", "apps-old"]

    async def test_list_of_prefix_without_children_is_empty(self, store: SessionStore) -> None:
        await store.put("/apps", b"")
        assert await store.list("/apps") == []
        assert await store.list("/nothing") == []

    # -- watch ----------------------------------------------------------------------------

    async def test_watch_sees_put_and_delete_under_prefix_but_not_outside(
        self, store: SessionStore
    ) -> None:
        async with store.watch("/apps/web") as watch:
            await store.put("/apps/webby", b"outside")
            await store.put("/other", b"outside")
            await store.put("/apps/web", b"self")
            await store.put("/apps/web/v1", b"1")
            await store.put("/apps/web/v1", b"2")
            await store.delete("/apps/web/v1")
            assert [await next_event(watch) for _ in range(4)] == [
                WatchEvent("put", "/apps/web", b"self", 0),
                WatchEvent("put", "/apps/web/v1", b"1", 0),
                WatchEvent("put", "/apps/web/v1", b"2", 1),
                WatchEvent("delete", "/apps/web/v1", None, 1),
            ]

    async def test_watch_on_root_sees_everything(self, store: SessionStore) -> None:
        async with store.watch("/") as watch:
            await store.put("/a", b"1")
            assert await next_event(watch) == WatchEvent("put", "/a", b"1", 0)

    async def test_watch_sees_writes_of_another_session(self, open_store: Opener) -> None:
        watcher, writer = open_store(), open_store()
        async with watcher.watch("/apps") as watch:
            assert await watcher.list("/apps") == []  # watch, then read the state
            await writer.put("/apps/web", b"1")
            await writer.delete("/apps/web")
            assert await next_event(watch) == WatchEvent("put", "/apps/web", b"1", 0)
            assert await next_event(watch) == WatchEvent("delete", "/apps/web", None, 0)

    async def test_watch_ends_when_its_store_closes(self, store: SessionStore) -> None:
        watch = store.watch("/apps")
        await store.close()
        assert [event async for event in watch] == []

    async def test_closed_watch_stops_iterating(self, store: SessionStore) -> None:
        watch = store.watch("/apps")
        await watch.aclose()
        await store.put("/apps/web", b"1")
        assert [event async for event in watch] == []

    # -- ephemerals and sessions ----------------------------------------------------------

    async def test_ephemeral_is_seen_by_another_session_until_its_owner_closes(
        self, open_store: Opener
    ) -> None:
        owner, peer = open_store(), open_store()
        async with peer.watch("/agents") as watch:
            assert await peer.list("/agents") == []  # watch, then read the state
            await owner.ephemeral("/agents/a1", b"host1")
            assert await peer.get("/agents/a1") == (b"host1", 0)
            assert await peer.list("/agents") == ["a1"]
            await owner.close()
            assert await peer.get("/agents/a1") is None
            assert await next_event(watch) == WatchEvent("put", "/agents/a1", b"host1", 0)
            assert await next_event(watch) == WatchEvent("delete", "/agents/a1", None, 0)

    async def test_ephemeral_on_existing_key_raises_node_exists(self, open_store: Opener) -> None:
        owner, peer = open_store(), open_store()
        await owner.ephemeral("/agents/a1", b"1")
        with pytest.raises(NodeExistsError):
            await peer.ephemeral("/agents/a1", b"2")
        with pytest.raises(NodeExistsError):
            await owner.ephemeral("/agents/a1", b"3")

    async def test_updated_ephemeral_stays_ephemeral(self, open_store: Opener) -> None:
        owner, peer = open_store(), open_store()
        await owner.ephemeral("/leader", b"1")
        assert await peer.put("/leader", b"2") == 1
        await owner.close()
        assert await peer.get("/leader") is None

    async def test_expired_session_loses_its_ephemerals(self, open_store: Opener) -> None:
        owner, peer = open_store(), open_store()
        await owner.ephemeral("/agents/a1", b"1")
        await owner.put("/persistent", b"1")
        await owner.expire_session()
        assert await peer.get("/agents/a1") is None
        assert await peer.get("/persistent") == (b"1", 0)
        await owner.ephemeral("/agents/a1", b"again")  # the store goes on with a new session
        assert await peer.get("/agents/a1") == (b"again", 0)

    async def test_closed_store_refuses_every_call(self, store: SessionStore) -> None:
        await store.close()
        await store.close()  # idempotent
        for call in (store.get("/a"), store.put("/a", b""), store.list("/"), store.leader("m")):
            with pytest.raises(StoreClosedError):
                await call
        with pytest.raises(StoreClosedError):
            store.watch("/")

    # -- election -------------------------------------------------------------------------

    async def test_nobody_leads_an_election_nobody_stands_in(self, store: SessionStore) -> None:
        assert await store.leader("master") is None

    async def test_second_candidate_leads_only_after_the_first_leaves(
        self, open_store: Opener
    ) -> None:
        first, second = open_store(), open_store()
        second_leads, release = asyncio.Event(), asyncio.Event()

        async def stand() -> None:
            async with second.election("master", b"second"):
                second_leads.set()
                await release.wait()

        async with first.election("master", b"first") as leadership:
            assert await second.leader("master") == b"first"
            contender = asyncio.create_task(stand())
            await asyncio.sleep(0.2)
            assert not second_leads.is_set()
        assert not leadership.lost.is_set()  # leaving is not losing
        await asyncio.wait_for(second_leads.wait(), EVENT_TIMEOUT)
        assert await first.leader("master") == b"second"
        release.set()
        await contender
        assert await first.leader("master") is None

    async def test_closing_the_leaders_store_loses_leadership_and_promotes_the_next(
        self, open_store: Opener
    ) -> None:
        first, second = open_store(), open_store()
        async with first.election("master", b"first") as leadership:
            contender = asyncio.create_task(self._lead_once(second))
            await asyncio.sleep(0.05)
            await first.close()
            await asyncio.wait_for(leadership.lost.wait(), EVENT_TIMEOUT)
        assert await asyncio.wait_for(contender, EVENT_TIMEOUT) == b"second"

    async def test_expired_session_loses_leadership_and_promotes_the_next(
        self, open_store: Opener
    ) -> None:
        first, second = open_store(), open_store()
        async with first.election("master", b"first") as leadership:
            contender = asyncio.create_task(self._lead_once(second))
            await asyncio.sleep(0.05)
            await first.expire_session()
            await asyncio.wait_for(leadership.lost.wait(), EVENT_TIMEOUT)
            assert await asyncio.wait_for(contender, EVENT_TIMEOUT) == b"second"

    async def test_cancelled_candidate_withdraws(self, open_store: Opener) -> None:
        first, second = open_store(), open_store()
        async with first.election("master", b"first"):
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2), second.election("master", b"second"):
                    pass
            assert len(await first.list(election_path("master"))) == 1

    async def test_candidate_cancelled_while_standing_leaves_no_node_behind(
        self, open_store: Opener
    ) -> None:
        first, second = open_store(), open_store()
        async with first.election("master", b"first"):
            contender = asyncio.create_task(self._lead_once(second))
            await asyncio.sleep(0)  # let it start creating its candidate node
            contender.cancel()
            with pytest.raises(asyncio.CancelledError):
                await contender
            assert len(await first.list(election_path("master"))) == 1

    async def test_election_name_must_be_one_segment(self, store: SessionStore) -> None:
        with pytest.raises(InvalidKeyError, match="single path segment"):
            await store.leader("a/b")

    @staticmethod
    async def _lead_once(store: SessionStore) -> bytes | None:
        async with store.election("master", b"second"):
            return await store.leader("master")
