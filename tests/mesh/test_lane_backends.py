"""The mesh's fast lane relaying what backends do, against the full path as the reference:
chunked, large and slow bodies to slow readers, and no more than the answer (not bytes
after it, 1xx answers, hop-by-hop headers or a backend's l5d-success-class); retries,
NACK requeues, clients leaving mid-request or mid-answer or while the lane connects, and
endpoints discovery removed."""

from __future__ import annotations

import asyncio
import re
import socket
import struct

import pytest

from roost.mesh.app import Mesh
from roost.mesh.lane.conn import LaneConnection
from roost.rpc.http.server_conn import ServerConnection
from tests.mesh.lanekit import (
    BIG,
    CHUNKS,
    HUGE,
    RETRYABLE,
    Backend,
    Client,
    Meshes,
    kinds,
    req,
    serving,
    settled,
    wait_for_call,
    warm,
)
from tests.mesh.meshkit import metrics

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("path", "status", "body", "err"),
    [
        ("/hang-up", 502, None, True),
        ("/chunked", 200, b"".join(CHUNKS), False),
        ("/big", 200, BIG, False),
        ("/close", 200, b"ok", False),
    ],
)
async def test_the_lane_relays_what_the_backend_does(
    meshes: Meshes, backend: Backend, path: str, status: int, body: bytes | None, err: bool
) -> None:
    m = await meshes.start(backend.address)
    c = await warm(m)
    await c.send(req(path))
    (r,) = await c.read()
    assert r.status == status
    assert body is None or bytes(r.body) == body
    assert (r.get("l5d-err") is not None) is err
    assert r.get("l5d-success-class") == ("0.0" if err else "1.0")
    assert r.get("connection") is None and r.get("via") == "1.1 linkerd"
    await c.send(req("/next"))  # the same client connection, still in the lane
    assert bytes((await c.read())[0].body) == b"GET /next "
    assert kinds(m) == {LaneConnection}


async def test_a_slow_backend_and_a_slow_reader_get_the_whole_body(
    meshes: Meshes, backend: Backend
) -> None:
    m = await meshes.start(backend.address)
    (await warm(m)).close()
    c = await Client.open(m.servers[0].address)
    sock = c.writer.get_extra_info("socket")  # a small window: the mesh feels a slow reader
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    await c.send(req("/huge"))
    (r,) = await c.read(slowly=0.001)
    assert r.status == 200 and len(r.body) == len(HUGE) and bytes(r.body) == HUGE


async def pending(m: Mesh) -> dict[str, float]:
    return {k: v for k, v in (await metrics(m)).items() if k.endswith("/pending") and v}


@pytest.mark.parametrize("lane", [True, False])
async def test_a_client_that_leaves_mid_request_leaves_nothing_pending(
    meshes: Meshes, backend: Backend, lane: bool
) -> None:
    m = await meshes.start(backend.address, lane=lane)
    (await warm(m)).close()
    c = await Client.open(m.servers[0].address)
    await c.send(req("/slow"))
    await wait_for_call(backend, "/slow")
    assert await pending(m)  # the request is in flight
    c.close()
    assert await settled(lambda: pending(m)) == {}
    c = await warm(m)  # and the mesh goes on serving
    assert kinds(m) == {LaneConnection if lane else ServerConnection}
    c.close()


@pytest.mark.parametrize("lane", [True, False])
async def test_a_client_that_leaves_mid_body_is_counted_by_the_answers_head(
    meshes: Meshes, backend: Backend, lane: bool
) -> None:
    m = await meshes.start(backend.address, lane=lane)
    c = await warm(m)
    before = await metrics(m)
    await c.send(req("/dribble"))
    got = b""
    async with asyncio.timeout(3):
        while b"\r\n\r\n" not in got:  # the head (and a little of the body)
            got += await c.reader.read(1024)
    c.close()
    client = "client/$/inet/" + backend.address.replace(":", "/")
    scopes = ("server/127.0.0.1/0", "service/svc/web", client)
    counted = re.compile(rf"rt/r/({'|'.join(map(re.escape, scopes))})/(requests|success|failures)")
    want = {f"rt/r/{s}/{n}": 1 for s in scopes for n in ("requests", "success")}

    async def moved() -> dict[str, float]:
        now = {k: v for k, v in (await metrics(m)).items() if counted.fullmatch(k)}
        return {k: v - before.get(k, 0) for k, v in now.items() if v != before.get(k, 0)}

    async def short() -> bool:
        return await moved() != want

    await settled(short, within=3)
    assert await moved() == want  # a success, as the full path counts it (by its head)


GAUGES = re.compile(r"rt/r/client/.+/(connections|pool_size)")


@pytest.mark.parametrize("lane", [True, False])
async def test_clients_resetting_while_the_lane_connects_leave_the_pool_gauges_sound(
    meshes: Meshes, backend: Backend, lane: bool
) -> None:
    m = await meshes.start(backend.address, lane=lane)
    c = await warm(m)
    await c.send(req("/2"))  # (the lane's pool has a connection)
    await c.read()
    c.close()
    host, port = m.servers[0].address.rsplit(":", 1)
    loop = asyncio.get_running_loop()
    seen: list[dict[str, float]] = []

    async def gauges() -> dict[str, float]:
        return {k: v for k, v in (await metrics(m)).items() if GAUGES.fullmatch(k)}

    async def watch() -> None:
        while True:
            seen.append(await gauges())
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    try:
        async with asyncio.timeout(20):  # 300 clients: a request each, then a reset at once
            for i in range(300):
                with socket.socket() as s:
                    s.setblocking(False)
                    await loop.sock_connect(s, (host, int(port)))
                    await asyncio.sleep(0.002)
                    s.send(req("/x"))
                    await asyncio.sleep((0, 0.0001, 0.0005, 0.001)[i % 4])
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                await asyncio.sleep(0.003)
            await asyncio.sleep(0.5)  # (what was under way has ended)
    finally:
        watcher.cancel()
    seen.append(await gauges())
    assert seen[-1] and len(seen) > 10
    negative = [g for g in seen if min(g.values()) < 0]
    assert negative == [], f"{len(negative)} of {len(seen)} samples negative: {negative[-1]}"


@pytest.mark.parametrize("lane", [True, False])
async def test_a_retryable_500_is_retried_once(
    meshes: Meshes, backend: Backend, lane: bool
) -> None:
    m = await meshes.start(backend.address, lane=lane, extra=RETRYABLE)
    c = await warm(m)
    before = await metrics(m)
    await c.send(req("/flaky"))
    (r,) = await c.read()
    assert r.status == 200 and r.get("l5d-success-class") == "1.0"
    assert backend.calls["/flaky"] == 2
    after = await metrics(m)
    name = "rt/r/service/svc/web"
    assert after[f"{name}/retries/total"] == 1
    assert after[f"{name}/requests"] - before[f"{name}/requests"] == 1
    assert after[f"{name}/success"] - before[f"{name}/success"] == 1
    assert after[f"{name}/failures"] == 0
    c.close()


@pytest.mark.parametrize("lane", [True, False])
@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        pytest.param("/evil", 200, b"hi", id="a-second-answer-in-the-same-write"),
        pytest.param("/evil-later", 200, b"hi", id="a-second-answer-later"),
        pytest.param("/evil-chunked", 200, b"hi", id="a-second-answer-after-a-chunked-one"),
        pytest.param("/chunked-ends-later", 200, b"hi", id="a-chunked-end-and-an-answer-later"),
        pytest.param("/304-sized", 304, b"", id="a-304-with-content-length-and-an-answer"),
        pytest.param("/204-sized", 204, b"", id="a-204-with-content-length-and-an-answer"),
        pytest.param("/204-chunked", 204, b"", id="a-204-said-to-be-chunked"),
        pytest.param("/junk", 200, b"hi", id="junk-after-the-answer"),
        pytest.param("/early-hints", 200, b"hi", id="103-early-hints"),
        pytest.param("/continue", 200, b"hi", id="100-continue-apart"),
        pytest.param("/continue-sized", 200, b"hi", id="100-continue-with-length-0"),
        pytest.param("/marked", 200, b"hi", id="its-own-l5d-success-class"),
        pytest.param("/close", 200, b"ok", id="connection-close"),
        pytest.param("/nominated", 200, b"hi", id="connection-names-a-header"),
    ],
)
async def test_the_client_gets_the_answer_alone_and_keeps_its_connection(
    meshes: Meshes, backend: Backend, lane: bool, path: str, status: int, body: bytes
) -> None:
    m = await meshes.start(backend.address, lane=lane)
    c = await warm(m)
    for _ in range(2):  # the second time, the lane knows the answer's head (lane/heads.py)
        await c.send(req(path))
        (r,) = await c.read()
        assert (r.status, bytes(r.body)) == (status, body)
        assert c.interim == []  # 1xx answers are the mesh's business, not relayed
        marks = [v for k, v in r.headers if k.lower() == "l5d-success-class"]
        assert marks == ["1.0"]  # the router's verdict, alone
        assert r.get("connection") is None  # hop-by-hop: not for the client
        assert r.get("x-secret") is None  # nor what the backend's Connection names
        if status == 204:  # no content, nothing to frame (RFC 9110 8.6)
            assert r.get("content-length") is None and r.get("transfer-encoding") is None
        await asyncio.sleep(0.15)  # (what comes after the answer has come)
    for i in range(3):  # the same client connection, and nothing of the extra answer
        await c.send(req(f"/after{i}"))
        (r,) = await c.read()
        assert (r.status, bytes(r.body)) == (200, f"GET /after{i} ".encode())
    assert kinds(m) == {LaneConnection if lane else ServerConnection}
    c.close()


@pytest.mark.parametrize("lane", [True, False])
async def test_a_nack_is_requeued_to_the_other_endpoint(
    meshes: Meshes, backend: Backend, lane: bool
) -> None:
    async with serving(Backend(nacking=True)) as nacker:
        m = await meshes.start_fs(backend, nacker, lane=lane)
        c = await warm(m)
        statuses = []
        for _ in range(40):
            await c.send(req("/nack"))
            statuses.append((await c.read())[0].status)
        assert statuses == [200] * 40
        assert nacker.calls["/nack"] > 0  # (the NACKing endpoint was tried)
        got = await metrics(m)
        requeues = got["rt/r/client/#/io.l5d.fs/web/retries/requeues"]
        assert requeues > 0
        assert requeues == nacker.calls["/nack"]  # each NACK, one requeue (as the full path)
        assert kinds(m) == {LaneConnection if lane else ServerConnection}
        c.close()


@pytest.mark.parametrize("lane", [True, False])
async def test_no_connection_is_kept_to_an_endpoint_discovery_removed(
    meshes: Meshes, backend: Backend, lane: bool
) -> None:
    async with serving(Backend()) as gone:
        m = await meshes.start_fs(backend, gone, lane=lane)
        c = await warm(m)
        for _ in range(20):  # (the balancer picks either: both get connections)
            await c.send(req("/"))
            assert (await c.read())[0].status == 200
        assert gone.open
        meshes.relist(backend)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 3.5  # the namer reads each second, the lane prunes as often
        while gone.open and loop.time() < deadline:
            await c.send(req("/"))  # (the lane looks at its pools when a request comes)
            assert (await c.read())[0].status == 200
            await asyncio.sleep(0.2)
        assert gone.open == 0, "the mesh keeps a connection to an endpoint no longer listed"
        c.close()
