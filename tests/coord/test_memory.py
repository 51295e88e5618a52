"""MemoryStore: the conformance suite plus the in-process database sharing."""

from __future__ import annotations

from pathlib import Path

from roost.coord import MemoryDatabase, MemoryStore, open_store

from .conformance import Opener, StoreConformance


class TestMemoryStoreConformance(StoreConformance):
    def opener(self, tmp_path: Path) -> Opener:
        database = MemoryDatabase()
        return lambda: MemoryStore(database)


async def test_memory_urls_with_the_same_name_share_one_database() -> None:
    first, second = open_store("memory://cluster"), open_store("memory://cluster")
    try:
        await first.put("/a", b"1")
        assert await second.get("/a") == (b"1", 0)
    finally:
        await first.close()
        await second.close()


async def test_unnamed_memory_url_opens_a_private_database() -> None:
    first, second = open_store("memory://"), open_store("memory://")
    try:
        await first.put("/a", b"1")
        assert await second.get("/a") is None
    finally:
        await first.close()
        await second.close()
