"""namerd's HTTP API against a real server: dtabs with ETags and If-Match compare-and-set
(204 / 409 / 412 / 404 / 400), watch streams, bind / resolve / delegate, bad input."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from roost.namerd.server import NamerdServer

DTAB = {"Content-Type": "application/dtab"}


@pytest.fixture
async def namerd() -> AsyncIterator[httpx.AsyncClient]:
    server = NamerdServer("memory://", port=0)
    await server.start()
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client
    await server.stop()


async def test_create_read_cas_update_and_delete(namerd: httpx.AsyncClient) -> None:
    c = namerd
    assert (await c.get("/api/1/dtabs/default")).status_code == 404
    created = await c.post("/api/1/dtabs/default", content="/svc => /#/io.l5d.fs", headers=DTAB)
    assert created.status_code == 204
    assert (await c.post("/api/1/dtabs/default", content="/a=>/b", headers=DTAB)).status_code == 409
    got = await c.get("/api/1/dtabs/default")
    assert got.status_code == 200 and got.headers["etag"] == "AAAAAAAAAAE="  # version 1
    assert got.json() == [{"prefix": "/svc", "dst": "/#/io.l5d.fs"}]
    text = await c.get("/api/1/dtabs/default", headers={"Accept": "application/dtab"})
    assert text.text == "/svc=>/#/io.l5d.fs"
    head = await c.head("/api/1/dtabs/default")
    assert head.headers["etag"] == "AAAAAAAAAAE=" and head.content == b""

    new = "/svc => /#/io.l5d.fs ; /svc/gen => /#/io.l5d.fs/gen-v2"
    stale = {**DTAB, "If-Match": "AAAAAAAAAAk="}
    assert (await c.put("/api/1/dtabs/default", content=new, headers=stale)).status_code == 412
    fresh = {**DTAB, "If-Match": "AAAAAAAAAAE="}
    updated = await c.put("/api/1/dtabs/default", content=new, headers=fresh)
    assert updated.status_code == 204 and updated.headers["etag"] == "AAAAAAAAAAI="
    missing = {**DTAB, "If-Match": "AAAAAAAAAAE="}
    assert (await c.put("/api/1/dtabs/nope", content=new, headers=missing)).status_code == 404
    assert (await c.put("/api/1/dtabs/other", content="/a=>/b", headers=DTAB)).status_code == 204
    assert (await c.get("/api/1/dtabs")).json() == ["default", "other"]
    assert (await c.delete("/api/1/dtabs/other")).status_code == 204
    assert (await c.delete("/api/1/dtabs/other")).status_code == 404


async def test_dtab_text_is_application_dtab_or_text_plain(namerd: httpx.AsyncClient) -> None:
    plain = {"Content-Type": "text/plain; charset=utf-8"}
    assert (
        await namerd.post("/api/1/dtabs/t", content="/a => /b", headers=plain)
    ).status_code == 204
    for accept, body in [
        ("text/plain", "/a=>/b"),
        ("application/dtab", "/a=>/b"),
        ("application/json, application/dtab", '[{"prefix":"/a","dst":"/b"}]'),
        ("text/html, application/dtab;q=0.9", "/a=>/b"),
        ("*/*", '[{"prefix":"/a","dst":"/b"}]'),
    ]:
        got = await namerd.get("/api/1/dtabs/t", headers={"Accept": accept})
        assert got.text == body, accept


async def test_json_bodies_are_accepted(namerd: httpx.AsyncClient) -> None:
    body = [{"prefix": "/svc", "dst": "/$/inet/127.0.0.1/8080"}]
    rep = await namerd.post("/api/1/dtabs/json", json=body)
    assert rep.status_code == 204
    assert (await namerd.get("/api/1/dtabs/json")).json() == body


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "message"),
    [
        ("post", "/api/1/dtabs/x", "/svc =>", DTAB, 400, "Invalid dtab: simple expected"),
        (
            "post",
            "/api/1/dtabs/x",
            "/a=>/b",
            {"Content-Type": "text/csv"},
            400,
            "Content-Type must be",
        ),
        ("post", "/api/1/dtabs/x", "/a=>/b", {}, 400, "Content-Type must be"),
        ("post", "/api/1/dtabs/x", "[1]", {"Content-Type": "application/json"}, 400, "JSON list"),
        ("post", "/api/1/dtabs/x", "{", {"Content-Type": "application/json"}, 400, "Invalid JSON"),
        ("post", "/api/1/dtabs/bad.ns", "/a=>/b", DTAB, 400, "invalid namespace 'bad.ns'"),
        ("put", "/api/1/dtabs/x", "/a=>/b", {**DTAB, "If-Match": "zzz"}, 412, "not a version"),
        ("get", "/api/1/bind/x?path=nope", "", {}, 400, "Invalid path: '/' expected"),
        ("get", "/api/1/delegate/x?path=/a&dtab=/a=>", "", {}, 400, "Invalid dtab"),
        ("get", "/api/1/bind/x?path=nope&dtab=/a=>/b", "", {}, 400, "Invalid path"),
        ("get", "/api/1/resolve/x?path=/a&dtab=/a=>/b;;", "", {}, 400, "Invalid dtab"),
    ],
)
async def test_bad_input_is_a_specific_error(
    namerd: httpx.AsyncClient,
    method: str,
    path: str,
    body: str,
    headers: dict[str, str],
    status: int,
    message: str,
) -> None:
    rep = await namerd.request(method.upper(), path, content=body or None, headers=headers)
    assert rep.status_code == status and message in rep.text, rep.text
    assert (await namerd.get("/health")).status_code == 200  # still serving
    assert (await namerd.get("/api/1/dtabs")).json() == []  # nothing stored


async def _first_line(seen: list[Any], task: asyncio.Task[None]) -> None:
    for _ in range(250):
        if seen or task.done():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the watch streamed nothing within 5 s")


async def test_watch_streams_each_distinct_change(namerd: httpx.AsyncClient) -> None:
    await namerd.put("/api/1/dtabs/w", content="/a=>/b", headers=DTAB)
    seen: list[str] = []

    async def watch() -> None:
        headers = {"Accept": "application/dtab"}
        async with namerd.stream("GET", "/api/1/dtabs/w?watch=true", headers=headers) as rep:
            async for line in rep.aiter_lines():
                seen.append(line)
                if len(seen) == 3:
                    return

    task = asyncio.create_task(watch())
    await _first_line(seen, task)  # watching: changes from here on are streamed
    await namerd.put("/api/1/dtabs/w", content="/a=>/c", headers=DTAB)
    await namerd.put("/api/1/dtabs/w", content="/a => /c", headers=DTAB)  # same dtab: skipped
    await namerd.put("/api/1/dtabs/w", content="/a=>/d", headers=DTAB)
    await asyncio.wait_for(task, 5)
    assert seen == ["/a=>/b", "/a=>/c", "/a=>/d"]


async def test_the_namespace_list_can_be_watched(namerd: httpx.AsyncClient) -> None:
    await namerd.put("/api/1/dtabs/a", content="/a=>/b", headers=DTAB)
    seen: list[list[str]] = []

    async def watch() -> None:
        async with namerd.stream("GET", "/api/1/dtabs?watch=true") as rep:
            async for line in rep.aiter_lines():
                seen.append(json.loads(line))
                if len(seen) == 3:
                    return

    task = asyncio.create_task(watch())
    await _first_line(seen, task)  # watching: changes from here on are streamed
    await namerd.put("/api/1/dtabs/b", content="/a=>/b", headers=DTAB)
    await namerd.put("/api/1/dtabs/b", content="/a=>/c", headers=DTAB)  # same names: no line
    await namerd.delete("/api/1/dtabs/a")
    await asyncio.wait_for(task, 5)
    assert seen == [["a"], ["a", "b"], ["b"]]


async def test_bind_resolve_and_delegate(namerd: httpx.AsyncClient) -> None:
    await namerd.put("/api/1/dtabs/default", content="/svc => /$/inet/127.0.0.1", headers=DTAB)
    bound = (await namerd.get("/api/1/bind/default?path=/svc/8080")).json()
    assert bound["type"] == "leaf"
    assert bound["bound"]["id"] == "/$/inet/127.0.0.1/8080"
    assert bound["bound"]["addr"]["addrs"] == [{"ip": "127.0.0.1", "port": 8080, "meta": {}}]
    resolved = (await namerd.get("/api/1/resolve/default?path=/svc/8080")).json()
    assert resolved["type"] == "bound" and resolved["addrs"][0]["port"] == 8080
    addr = (await namerd.get("/api/1/addr/default?path=/$/inet/127.0.0.1/8080")).json()
    assert addr["type"] == "bound"
    assert (await namerd.get("/api/1/bound-names")).json() == ["/$/inet/127.0.0.1/8080"]
    explained = (await namerd.get("/api/1/delegate/default?path=/svc/8080")).json()
    assert explained["type"] == "delegate" and explained["delegate"]["type"] == "leaf"
    neg = (await namerd.get("/api/1/resolve/default?path=/elsewhere")).json()
    assert neg == {"type": "neg"}
    split = "/svc/split => 1 * /$/inet/127.0.0.1/1 & 1 * /$/inet/127.0.0.1/2"
    await namerd.put("/api/1/dtabs/default", content=split, headers=DTAB)
    union = (await namerd.get("/api/1/bind/default?path=/svc/split")).json()
    assert union["type"] == "union" and [u["weight"] for u in union["union"]] == [1.0, 1.0]
    ports = set()
    for _ in range(40):  # one branch per answer, picked by weight, as a router picks
        one = (await namerd.get("/api/1/resolve/default?path=/svc/split")).json()
        assert len(one["addrs"]) == 1
        ports.add(one["addrs"][0]["port"])
    assert ports == {1, 2}
    assert "namerd_requests_total" in (await namerd.get("/metrics")).text
    assert json.loads((await namerd.get("/api/1/dtabs")).text) == ["default"]
