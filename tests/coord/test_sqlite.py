"""SqliteStore: the conformance suite plus durability, sharing a file and crash cleanup."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from roost.coord import SqliteStore, StoreError, WatchEvent
from roost.core.clock import ManualClock

from .conformance import EVENT_TIMEOUT, Opener, StoreConformance, next_event


def fast_store(path: Path) -> SqliteStore:
    """Short polling so cross-store tests stay quick; the timeout never fires in them."""
    return SqliteStore(path, session_timeout=2.0, poll_interval=0.02)


class TestSqliteStoreConformance(StoreConformance):
    def opener(self, tmp_path: Path) -> Opener:
        return lambda: fast_store(tmp_path / "state.db")


async def test_committed_data_survives_reopening_the_file(tmp_path: Path) -> None:
    store = fast_store(tmp_path / "state.db")
    await store.put("/frameworks/f1", b"marathon")
    await store.put("/frameworks/f1", b"marathon-2")
    await store.ephemeral("/agents/a1", b"gone on close")
    await store.close()

    reopened = fast_store(tmp_path / "state.db")
    try:
        assert await reopened.get("/frameworks/f1") == (b"marathon-2", 1)
        assert await reopened.get("/agents/a1") is None
        assert await reopened.put("/frameworks/f1", b"x", expected_version=1) == 2
    finally:
        await reopened.close()


async def test_file_is_in_wal_mode(tmp_path: Path) -> None:
    store = fast_store(tmp_path / "state.db")
    await store.get("/a")
    await store.close()
    with sqlite3.connect(tmp_path / "state.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_change_log_is_trimmed_to_its_size(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "state.db", session_timeout=0.3, change_log_size=5)
    try:
        for i in range(30):
            await store.put("/counter", str(i).encode())
        for _ in range(int(EVENT_TIMEOUT / 0.05)):  # the heartbeat (every 0.1 s) trims
            if _count_changes(tmp_path / "state.db") <= 5:
                break
            await asyncio.sleep(0.05)
        assert _count_changes(tmp_path / "state.db") <= 5
    finally:
        await store.close()


def _count_changes(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        (count,) = conn.execute("SELECT count(*) FROM changes").fetchone()
    return int(count)


async def test_unopenable_file_raises_store_error_and_still_closes(tmp_path: Path) -> None:
    store = fast_store(tmp_path / "no" / "such" / "dir.db")
    with pytest.raises(StoreError, match="unable to open"):
        await store.get("/a")
    await store.close()


@pytest.mark.parametrize(
    "options",
    [{"session_timeout": 0}, {"poll_interval": -1}, {"change_log_size": 0}],
    ids=["session_timeout", "poll_interval", "change_log_size"],
)
def test_non_positive_tuning_is_refused(tmp_path: Path, options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        SqliteStore(tmp_path / "state.db", **options)  # type: ignore[arg-type]


async def test_leader_whose_heartbeats_stop_past_the_session_timeout_loses_leadership(
    tmp_path: Path,
) -> None:
    clock = ManualClock()  # jumping it plays a process stalled for that long
    first, second = (
        SqliteStore(tmp_path / "state.db", session_timeout=1.0, poll_interval=0.02, clock=clock)
        for _ in range(2)
    )
    try:
        async with first.election("master", b"first") as leadership:
            await first.ephemeral("/agents/first", b"")
            clock.advance(1.5)
            assert await second.get("/agents/first") is None  # gone to readers at once
            assert await second.leader("master") is None
            await asyncio.wait_for(leadership.lost.wait(), EVENT_TIMEOUT)
        async with second.election("master", b"second"):
            assert await first.leader("master") == b"second"
    finally:
        await first.close()
        await second.close()


CHILD = """
import asyncio, sys
from roost.coord import SqliteStore

async def main():
    store = SqliteStore(sys.argv[1], session_timeout=float(sys.argv[2]), poll_interval=0.05)
    await store.ephemeral("/agents/child", b"alive")
    print("ready", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_ephemeral_of_sigkilled_process_vanishes_after_its_session_timeout(
    tmp_path: Path,
) -> None:
    path, child_timeout = tmp_path / "state.db", 1.5
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(path), str(child_timeout), stdout=asyncio.subprocess.PIPE
    )
    store = SqliteStore(path, session_timeout=1.0, poll_interval=0.05)
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), 20) == b"ready\n"
        async with store.watch("/agents") as watch:
            assert await store.get("/agents/child") == (b"alive", 0)
            child.kill()
            await child.wait()
            killed = time.monotonic()
            assert await store.get("/agents/child") == (b"alive", 0)  # not before the timeout

            while (event := await next_event(watch)).kind == "put":
                pass  # the child's own put, if this store opened before it
            assert event == WatchEvent("delete", "/agents/child", None, 0)
            assert await store.get("/agents/child") is None
            assert time.monotonic() - killed < child_timeout + 1.0
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        await store.close()
