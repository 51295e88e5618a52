"""open_store: which URL opens which backend, and what a malformed URL is told."""

from __future__ import annotations

from pathlib import Path

import pytest

from roost.coord import MemoryStore, SqliteStore, StoreError, open_store


async def test_three_slashes_open_a_sqlite_file_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///./state/../roost.db")
    assert isinstance(store, SqliteStore)
    assert store.path == "./state/../roost.db"
    await store.close()
    store = open_store("sqlite:///roost.db")
    await store.put("/a", b"1")
    await store.close()
    assert (tmp_path / "roost.db").exists()


async def test_four_slashes_open_a_sqlite_file_at_an_absolute_path(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/roost.db", session_timeout=1.0, poll_interval=0.1)
    assert isinstance(store, SqliteStore)
    assert store.path == f"{tmp_path}/roost.db"
    await store.put("/a", b"1")
    await store.close()
    assert (tmp_path / "roost.db").exists()


async def test_memory_url_opens_a_memory_store() -> None:
    store = open_store("memory://")
    assert isinstance(store, MemoryStore)
    await store.close()


def test_zookeeper_url_says_the_backend_is_not_available_yet() -> None:
    with pytest.raises(StoreError, match="ZooKeeper backend is not available yet"):
        open_store("zk://h1:2181,h2:2181/roost")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param("", "no scheme", id="empty"),
        pytest.param("state.db", "no scheme", id="bare-path"),
        pytest.param("/var/lib/roost.db", "no scheme", id="absolute-path"),
        pytest.param("sqlite:state.db", "no scheme", id="missing-slashes"),
        pytest.param("://state.db", "no scheme", id="empty-scheme"),
        pytest.param("redis://localhost", "unknown scheme 'redis'", id="unknown-scheme"),
        pytest.param("sqlite://state.db", "has a host part", id="sqlite-two-slashes"),
        pytest.param("sqlite://host/state.db", "has a host part", id="sqlite-host"),
        pytest.param("sqlite://", "has a host part", id="sqlite-nothing"),
        pytest.param("sqlite:///", "names no database file", id="sqlite-no-file"),
        pytest.param("sqlite:///x.db?mode=ro", "query strings", id="sqlite-query"),
        pytest.param("memory://a/b", "must be plain", id="memory-path"),
    ],
)
def test_malformed_url_raises_value_error_naming_the_problem(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_store(url)
