"""A namerd configured like Linkerd's (``storage``, ``namers``, ``interfaces``, ``admin``)
against a real server on loopback: names bound through an ``io.l5d.fs`` namer over a temp
directory, addresses following the files (on the next GET and on ``?watch=true``), seeded
in-memory namespaces, and the namers closed when namerd stops."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from roost.namerd.config import load_config
from roost.namerd.server import NamerdServer

DTAB = {"Content-Type": "application/dtab"}
WEB = "/#/io.l5d.fs/web"
CONFIG = """
admin: {port: 0}
storage:
  kind: io.l5d.inMemory
  namespaces:
    seeded: /svc => /#/io.l5d.fs ; /svc/old => /$/inet/127.0.0.1/9
namers:
- kind: io.l5d.fs
  rootDir: disco
interfaces:
- {kind: io.l5d.httpController, port: 0}
"""


def addrs(*ports: int, weights: dict[int, float] | None = None) -> dict[str, object]:
    """The reference's Addr JSON for endpoints on 127.0.0.1."""
    weights = weights or {}
    return {
        "type": "bound",
        "addrs": [
            {"ip": "127.0.0.1", "port": p, "meta": {"weight": weights[p]} if p in weights else {}}
            for p in ports
        ],
        "meta": {},
    }


def write(path: Path, text: str) -> None:
    """Atomically, as the io.l5d.fs namer asks."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@pytest.fixture
def disco(tmp_path: Path) -> Path:
    (tmp_path / "disco").mkdir()
    write(tmp_path / "disco" / "web", "127.0.0.1 8081\n127.0.0.1 8082 * 2.0\n")
    return tmp_path / "disco"


@pytest.fixture
async def server(disco: Path) -> AsyncIterator[NamerdServer]:
    namerd = NamerdServer.from_config(load_config(CONFIG), disco.parent)
    await namerd.start()
    try:
        yield namerd
    finally:
        await namerd.stop()


@pytest.fixture
async def namerd(server: NamerdServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client


async def get(client: httpx.AsyncClient, endpoint: str, path: str, ns: str = "default") -> object:
    rep = await client.get(f"/api/1/{endpoint}/{ns}", params={"path": path})
    assert rep.status_code == 200, rep.text
    return rep.json()


async def test_bind_goes_through_the_fs_namer(namerd: httpx.AsyncClient) -> None:
    await namerd.put("/api/1/dtabs/default", content="/svc => /#/io.l5d.fs", headers=DTAB)
    assert await get(namerd, "bind", "/svc/web/rest") == {
        "type": "leaf",
        "bound": {"addr": addrs(8081, 8082, weights={8082: 2.0}), "id": WEB, "path": "/rest"},
    }
    assert await get(namerd, "bind", "/svc/nope") == {"type": "neg"}
    assert await get(namerd, "resolve", "/svc/web") == addrs(8081, 8082, weights={8082: 2.0})
    assert (await namerd.get("/api/1/bound-names")).json() == [WEB]


async def test_addr_binds_a_bound_id_through_the_namers(namerd: httpx.AsyncClient) -> None:
    # no bind first and no dtab at all: the id alone names the file
    assert await get(namerd, "addr", WEB) == addrs(8081, 8082, weights={8082: 2.0})
    assert await get(namerd, "addr", "/#/io.l5d.fs/nope") == {"type": "neg"}
    assert await get(namerd, "addr", "/#/io.l5d.marathon/web") == {"type": "neg"}  # not mounted


async def test_addr_follows_the_file_on_the_next_get(
    namerd: httpx.AsyncClient, disco: Path
) -> None:
    assert await get(namerd, "addr", WEB) == addrs(8081, 8082, weights={8082: 2.0})
    write(disco / "web", "127.0.0.1 9001\n")
    for _ in range(100):  # the namer polls its directory every second
        if await get(namerd, "addr", WEB) == addrs(9001):
            break
        await asyncio.sleep(0.05)
    assert await get(namerd, "addr", WEB) == addrs(9001)
    (disco / "web").unlink()
    for _ in range(100):
        if await get(namerd, "addr", WEB) == {"type": "neg"}:
            break
        await asyncio.sleep(0.05)
    assert await get(namerd, "addr", WEB) == {"type": "neg"}


async def lines(
    client: httpx.AsyncClient, url: str, params: dict[str, str], into: list[object]
) -> None:
    async with client.stream("GET", url, params={**params, "watch": "true"}) as rep:
        assert rep.status_code == 200
        async for line in rep.aiter_lines():
            into.append(json.loads(line))


async def wait_for(seen: list[object], count: int) -> None:
    for _ in range(100):
        if len(seen) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} lines, got {seen}")


async def test_addr_watch_pushes_each_change_of_the_file(
    namerd: httpx.AsyncClient, disco: Path
) -> None:
    seen: list[object] = []
    task = asyncio.create_task(lines(namerd, "/api/1/addr/default", {"path": WEB}, seen))
    try:
        await wait_for(seen, 1)
        write(disco / "web", "127.0.0.1 9001\n")
        await wait_for(seen, 2)
        (disco / "web").unlink()
        await wait_for(seen, 3)
        await asyncio.sleep(0.3)  # no repeats while nothing changes
    finally:
        task.cancel()
    assert seen == [addrs(8081, 8082, weights={8082: 2.0}), addrs(9001), {"type": "neg"}]


async def test_bind_watch_follows_the_dtab_and_the_addresses(
    namerd: httpx.AsyncClient, disco: Path
) -> None:
    await namerd.put("/api/1/dtabs/default", content="/svc => /#/io.l5d.fs", headers=DTAB)
    write(disco / "api", "127.0.0.1 7000\n")
    seen: list[object] = []
    task = asyncio.create_task(lines(namerd, "/api/1/bind/default", {"path": "/svc/web"}, seen))
    try:
        await wait_for(seen, 1)
        await namerd.put(
            "/api/1/dtabs/default", content="/svc/web => /#/io.l5d.fs/api", headers=DTAB
        )
        await wait_for(seen, 2)
        write(disco / "api", "127.0.0.1 7001\n")
        await wait_for(seen, 3)
    finally:
        task.cancel()
    web = {"addr": addrs(8081, 8082, weights={8082: 2.0}), "id": WEB, "path": "/"}
    api = "/#/io.l5d.fs/api"
    assert seen == [
        {"type": "leaf", "bound": web},
        {"type": "leaf", "bound": {"addr": addrs(7000), "id": api, "path": "/"}},
        {"type": "leaf", "bound": {"addr": addrs(7001), "id": api, "path": "/"}},
    ]


async def test_delegate_shows_the_namer_step(namerd: httpx.AsyncClient) -> None:
    await namerd.put("/api/1/dtabs/default", content="/svc => /#/io.l5d.fs", headers=DTAB)
    dentry = {"prefix": "/svc", "dst": "/#/io.l5d.fs"}
    assert await get(namerd, "delegate", "/svc/web") == {
        "type": "delegate",
        "path": "/svc/web",
        "delegate": {
            "type": "leaf",
            "path": WEB,
            "dentry": dentry,
            "bound": {"addr": addrs(8081, 8082, weights={8082: 2.0}), "id": WEB, "path": "/"},
        },
    }
    assert await get(namerd, "delegate", "/svc/nope") == {
        "type": "delegate",
        "path": "/svc/nope",
        "delegate": {"type": "neg", "path": "/#/io.l5d.fs/nope", "dentry": dentry},
    }


async def test_in_memory_namespaces_are_seeded_at_start(namerd: httpx.AsyncClient) -> None:
    assert (await namerd.get("/api/1/dtabs")).json() == ["seeded"]
    got = await namerd.get("/api/1/dtabs/seeded", headers={"Accept": "application/dtab"})
    assert got.headers["etag"] == "AAAAAAAAAAE="
    assert got.text == "/svc=>/#/io.l5d.fs;/svc/old=>/$/inet/127.0.0.1/9"
    bound = await get(namerd, "bind", "/svc/web", ns="seeded")
    assert bound["bound"]["id"] == WEB  # type: ignore[index]
    old = await get(namerd, "bind", "/svc/old", ns="seeded")
    assert old["bound"]["id"] == "/$/inet/127.0.0.1/9"  # type: ignore[index]  # system namers too


async def test_the_admin_server_answers_on_its_own_port(server: NamerdServer) -> None:
    assert server.admin_url is not None and server.admin is not None
    assert server.admin.port != server.port
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{server.url}/api/1/dtabs")).status_code == 200
    async with httpx.AsyncClient(base_url=server.admin_url, timeout=10) as admin:
        assert (await admin.get("/admin/ping")).text == "pong"
        assert "namerd_requests_total" in (await admin.get("/metrics")).text
        assert (await admin.get("/api/1/dtabs")).status_code == 404  # the API is not here


async def test_the_namers_stop_with_namerd(disco: Path) -> None:
    namerd = NamerdServer.from_config(load_config(CONFIG), disco.parent)
    await namerd.start()
    async with httpx.AsyncClient(base_url=namerd.url, timeout=10) as client:
        await get(client, "addr", WEB)  # the fs namer starts watching its directory
    watching = [t for t in asyncio.all_tasks() if "FsNamer._watch" in repr(t.get_coro())]
    assert len(watching) == 1
    await namerd.stop()
    assert watching[0].done()
    assert namerd.api.binding.namers == ()


async def test_flags_replace_the_files_storage_and_address(disco: Path) -> None:
    namerd = NamerdServer.from_config(
        load_config(CONFIG), disco.parent, store="memory://", ip="127.0.0.1", port=0
    )
    await namerd.start()
    try:
        async with httpx.AsyncClient(base_url=namerd.url, timeout=10) as client:
            assert (await client.get("/api/1/dtabs")).json() == []  # not seeded: --store won
            assert await get(client, "addr", WEB) == addrs(8081, 8082, weights={8082: 2.0})
    finally:
        await namerd.stop()


async def test_resolve_watch_follows_the_addresses(namerd: httpx.AsyncClient, disco: Path) -> None:
    await namerd.put("/api/1/dtabs/default", content="/svc => /#/io.l5d.fs", headers=DTAB)
    seen: list[object] = []
    task = asyncio.create_task(lines(namerd, "/api/1/resolve/default", {"path": "/svc/web"}, seen))
    try:
        await wait_for(seen, 1)
        write(disco / "web", "127.0.0.1 9100\n")
        await wait_for(seen, 2)
    finally:
        task.cancel()
    assert seen == [addrs(8081, 8082, weights={8082: 2.0}), addrs(9100)]


async def test_bound_names_lists_the_fs_files_before_any_bind(
    namerd: httpx.AsyncClient, disco: Path
) -> None:
    write(disco / "api", "127.0.0.1 7000\n")
    (disco / ".half-written.tmp").write_text("127.0.0.1 1\n")  # hidden: not a name
    names = (await namerd.get("/api/1/bound-names")).json()
    assert names == ["/#/io.l5d.fs/api", WEB]
