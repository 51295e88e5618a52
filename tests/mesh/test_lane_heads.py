"""Heads the fast lane has seen before (roost.mesh.lane.heads): a cache of them is bounded; an
answer or a request whose head is known is relayed exactly as the first one was, and one
whose read holds more or less than its message is parsed as before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from roost.mesh.app import Mesh
from roost.mesh.lane.heads import FIELD_LIMIT, HEAD_LIMIT, REST, Heads, RequestHead
from roost.mesh.lane.route import Lane
from roost.mesh.lane.upstream import RESPONSE_HEADS
from tests.mesh.lanekit import RETRYABLE, Backend, Client, Meshes, Reply, req, warm


def record(fields: int = 1) -> RequestHead:
    return RequestHead("GET", ((b"x", b"y"),) * fields, b"web", 0)


def test_a_cache_of_heads_starts_afresh_when_full_and_keeps_no_long_head() -> None:
    heads: Heads[RequestHead] = Heads(4)
    kept = {b"head %d" % i: record() for i in range(4)}
    for head, known in kept.items():
        assert heads.remember(head, known)
    assert dict(heads) == kept
    heads.hits = 1  # (a hit for every four new heads: worth going on)
    assert heads.remember(b"head 4", kept[b"head 0"])
    assert dict(heads) == {b"head 4": kept[b"head 0"]}
    assert (heads.hits, heads.resting) == (0, 0)
    assert not heads.remember(b"x" * (HEAD_LIMIT + 1), record())
    assert heads.remember(b"y" * HEAD_LIMIT, record(FIELD_LIMIT))
    assert not heads.remember(b"z", record(FIELD_LIMIT + 1))
    assert list(heads) == [b"head 4", b"y" * HEAD_LIMIT]


def test_a_cache_whose_heads_do_not_repeat_rests() -> None:
    heads: Heads[RequestHead] = Heads(8)
    for i in range(8):
        assert heads.remember(b"head %d" % i, record())
    heads.hits = 1  # (one hit for eight new heads)
    assert not heads.remember(b"head 8", record())
    assert (len(heads), heads.hits, heads.resting) == (0, 0, 8 * REST)


async def ask(c: Client, path: str) -> Reply:
    await c.send(req(path))
    (r,) = await c.read()
    return r


def lane_of(m: Mesh) -> Lane:
    (lane,) = m._lanes
    return lane


def response_heads(m: Mesh) -> dict[bytes, object]:
    known: dict[bytes, object] = {}
    for client in lane_of(m)._clients.values():
        for pool in client.pools.values():
            known.update(pool.heads)
    return known


pytestmark = pytest.mark.slow


@pytest.fixture
async def warmed(meshes: Meshes, backend: Backend) -> AsyncIterator[tuple[Mesh, Client]]:
    """A mesh with the lane in front of ``backend``, and a client connection in the lane."""
    m = await meshes.start(backend.address)
    c = await warm(m)
    yield m, c
    c.close()


async def test_an_answer_whose_head_was_seen_before_is_relayed_byte_for_byte_the_same(
    warmed: tuple[Mesh, Client],
) -> None:
    m, c = warmed
    c.raw.clear()
    for _ in range(5):
        r = await ask(c, "/dated")
        assert (r.status, bytes(r.body), r.get("connection")) == (200, b"hi", None)
        assert r.get("date") == "Mon, 07 Dec 2026 18:00:00 GMT"  # the backend's, kept
        assert (r.get("via"), r.get("l5d-success-class")) == ("1.1 linkerd", "1.0")
    first = bytes(c.raw[: len(c.raw) // 5])
    assert bytes(c.raw) == first * 5
    (known,) = [h for h in response_heads(m) if b"Date: Mon" in h]
    assert known.endswith(b"Content-Length: 2\r\n\r\n")


async def test_a_known_head_without_a_date_gets_the_current_one_each_time(
    warmed: tuple[Mesh, Client],
) -> None:
    m, c = warmed
    dates = []
    for _ in range(2):
        r = await ask(c, "/hi")
        assert (r.status, bytes(r.body)) == (200, b"hi")
        dates.append(r.get("date"))
        await asyncio.sleep(1.05)  # (HTTP dates move by the second)
    assert list(response_heads(m)) == [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"]
    assert None not in dates and dates[0] != dates[1]


async def test_a_known_head_with_more_or_less_than_its_answer_in_the_read_is_parsed(
    warmed: tuple[Mesh, Client],
) -> None:
    _, c = warmed
    # /hi teaches the lane the head; /later-body sends it alone, its body later; /evil sends
    # it with a second answer after the first in the same write
    for path in ("/hi", "/later-body", "/evil", "/hi", "/evil", "/later-body", "/hi"):
        r = await ask(c, path)
        assert (path, r.status, bytes(r.body)) == (path, 200, b"hi")
        await asyncio.sleep(0.1)  # (what follows an answer has come)
    await c.send(req("/next"))
    assert bytes((await c.read())[0].body) == b"GET /next "
    assert c.raw.count(b"evil") == 0


async def test_a_request_whose_head_was_seen_before_goes_with_its_own_body(
    meshes: Meshes, backend: Backend
) -> None:
    m = await meshes.start(backend.address)
    c = await warm(m)
    backend.reset()
    head = req("/p", "POST", b"one")[:-3]
    for body in (b"one", b"two"):
        await c.send(head + body)
        assert bytes((await c.read())[0].body) == b"POST /p " + body
    assert head in lane_of(m).heads
    await c.send(head + b"t", b"ri")  # the body in two reads: the full server's to read
    assert bytes((await c.read())[0].body) == b"POST /p tri"
    other = await Client.open(m.servers[0].address)
    await other.send(head + b"one" + req("/q"))  # pipelined after a known head
    assert [bytes(r.body) for r in await other.read(2)] == [b"POST /p one", b"GET /q "]
    assert [(p, b) for _, p, _, b in backend.seen] == [
        ("/p", b"one"),
        ("/p", b"two"),
        ("/p", b"tri"),
        ("/p", b"one"),
        ("/q", b""),
    ]
    c.close()
    other.close()


async def test_a_known_request_given_back_to_the_full_path_leaves_its_head_as_it_was(
    meshes: Meshes, backend: Backend
) -> None:
    """/flaky fails once, retryably: the lane gives the request back to the full path, whose
    router adds headers to a request of its own; the lane's record stays as it was."""
    m = await meshes.start(backend.address, extra=RETRYABLE)
    c = await warm(m)
    backend.reset()
    for _ in range(3):
        r = await ask(c, "/flaky")
        assert (r.status, r.get("l5d-success-class")) == (200, "1.0")
    (known,) = [k for h, k in lane_of(m).heads.items() if h.startswith(b"GET /flaky ")]
    assert known.headers == ((b"Host", b"web"),)
    names = [sorted(k.lower() for k, _ in headers) for _, _, headers, _ in backend.seen]
    assert len(names) == 4  # the lane's try, the full path's retry, the two after
    assert names[0] == names[2] == names[3]
    assert len(set(names[3])) == len(names[3])  # no header twice
    c.close()


async def test_an_odd_answer_teaches_the_lane_no_head(warmed: tuple[Mesh, Client]) -> None:
    """A 1xx with a body (whose body is a head) and blank lines before an answer: neither may
    leave the lane a head that is not one, to misread the answers after it."""
    m, c = warmed
    r = await ask(c, "/interim-body")
    assert r.status == 502 and "1xx" in (r.get("l5d-err") or "")
    c = await Client.open(m.servers[0].address)
    for path in ("/blank-first", "/blank-first", "/later-body", "/hi", "/later-body"):
        r = await ask(c, path)
        assert (path, r.status, bytes(r.body)) == (path, 200, b"hi")
    assert list(response_heads(m)) == [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"]
    c.close()


async def test_answers_whose_heads_do_not_repeat_rest_the_cache_then_it_is_tried_again(
    warmed: tuple[Mesh, Client],
) -> None:
    """/unique answers with a new head each time: once the endpoint's cache has filled with
    them and no hit, it rests (each answer still its own), and is used again after."""
    m, c = warmed
    for i in range(1, RESPONSE_HEADS + 2):
        r = await ask(c, "/unique")
        assert (r.status, r.get("x-app"), bytes(r.body)) == (200, str(i), b"GET /unique ")
    (pool,) = [p for client in lane_of(m)._clients.values() for p in client.pools.values()]
    assert (len(pool.heads), pool.heads.resting) == (0, RESPONSE_HEADS * REST)
    for _ in range(RESPONSE_HEADS * REST):
        assert bytes((await ask(c, "/hi")).body) == b"hi"
    assert (len(pool.heads), pool.heads.resting) == (1, 0)  # (the last one taught it /hi's)
    for _ in range(3):
        assert bytes((await ask(c, "/hi")).body) == b"hi"
    assert (len(pool.heads), pool.heads.hits) == (1, 3)


async def test_requests_whose_heads_do_not_repeat_rest_the_lanes_cache(
    warmed: tuple[Mesh, Client], backend: Backend
) -> None:
    m, c = warmed
    lane = lane_of(m)
    backend.reset()
    for i in range(lane.heads.limit):  # (with the warm-up's, one more than the cache holds)
        assert bytes((await ask(c, f"/r{i}")).body) == f"GET /r{i} ".encode()
    assert (len(lane.heads), lane.heads.resting) == (0, lane.heads.limit * REST)
    assert bytes((await ask(c, "/r0")).body) == b"GET /r0 "
    assert lane.heads.resting == lane.heads.limit * REST - 1
    assert len(backend.seen) == lane.heads.limit + 1


async def test_known_heads_whose_bodies_come_apart_are_no_hits(
    warmed: tuple[Mesh, Client],
) -> None:
    """/later-body's head is known but its body comes in a later read (parsed all the same):
    between answers whose heads never repeat, it must not keep the cache from resting."""
    m, c = warmed
    (await ask(c, "/later-body"))
    (pool,) = [p for client in lane_of(m)._clients.values() for p in client.pools.values()]
    for i in range(RESPONSE_HEADS):
        assert bytes((await ask(c, "/later-body")).body) == b"hi"
        assert (await ask(c, "/unique")).get("x-app") == str(i + 1)
    assert (len(pool.heads), pool.heads.hits) == (0, 0)
    assert pool.heads.resting > RESPONSE_HEADS * REST - 4
