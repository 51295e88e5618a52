"""The mesh's fast lane (roost.mesh.lane) on loopback, against the full path as the
reference: it answers and counts as the full path does, serves plain requests itself, hands
odd connections to a ServerConnection, keeps the full server's limits, drains and stops
cleanly, and leaves some clients to the full path. (What it relays from backends:
test_lane_backends.py.)"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from roost.mesh.lane.conn import LaneConnection
from roost.rpc.http.server_conn import ServerConnection
from tests.mesh.lanekit import (
    RETRYABLE,
    Backend,
    Client,
    Meshes,
    kinds,
    req,
    run,
    settled,
    wait_for_call,
    warm,
)
from tests.mesh.meshkit import free_port

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("extra", "dead", "sends", "statuses"),
    [
        pytest.param(
            "",
            False,
            [req(), req("/a?x=1"), req("/p", "POST", b"hey"), req("/fail"), req("/fail")],
            [200, 200, 200, 500, 500],
            id="200s-a-post-and-500s",
        ),
        pytest.param("", False, [req(), req("/hang-up"), req()], [200, 502, 200], id="hang-up"),
        pytest.param("", False, [req(), req("/close"), req()], [200] * 3, id="connection-close"),
        pytest.param(RETRYABLE, False, [req(), req("/flaky"), req()], [200] * 3, id="retried-500"),
        pytest.param(
            RETRYABLE, False, [req()] + [req("/every-other")] * 6, [200] * 7, id="retried-lost-GETs"
        ),
        pytest.param("", True, [req(), req(), req()], [502] * 3, id="backend-not-listening"),
    ],
)
async def test_the_lane_answers_and_counts_as_the_full_path(
    meshes: Meshes,
    backend: Backend,
    extra: str,
    dead: bool,
    sends: list[bytes],
    statuses: list[int],
) -> None:
    target = f"127.0.0.1:{free_port()}" if dead else backend.address
    full = await run(meshes, backend, target, False, extra, sends)
    fast = await run(meshes, backend, target, True, extra, sends)
    for seen in (full, fast):
        assert [a[0] for a in seen["client got"]] == statuses
        # a 5XX is a failure (l5d-success-class 0.0); the mesh's own 502s say why (l5d-err)
        marks = [(a[3][1], a[3][2]) for a in seen["client got"]]
        assert marks == [("0.0" if s >= 500 else "1.0", s == 502) for s in statuses]
        assert seen["counters"]
    assert fast == full


async def test_the_first_request_of_a_name_is_the_full_paths_the_rest_the_lanes(
    meshes: Meshes, backend: Backend
) -> None:
    for lane, backend_connections, kind in (
        (False, 1, ServerConnection),
        (True, 2, LaneConnection),
    ):
        backend.reset()
        m = await meshes.start(backend.address, lane=lane)
        c = await warm(m)  # the full path's client pool: one backend connection
        for path in ("/a", "/b", "/c"):  # the lane's own upstream pool: one more, reused
            await c.send(req(path))
            assert bytes((await c.read())[0].body) == f"GET {path} ".encode()
        assert kinds(m) == {kind}
        assert backend.accepted == backend_connections
        c.close()


@pytest.mark.parametrize(
    ("writes", "statuses", "bodies", "interim", "stays_open"),
    [
        pytest.param([req("/1") + req("/2")], [200, 200], [b"GET /1 ", b"GET /2 "], [], True,
                     id="pipelined"),
        pytest.param([req("/s")[:9], req("/s")[9:]], [200], [b"GET /s "], [], True, id="split"),
        pytest.param(
            [b"POST /c HTTP/1.1\r\nHost: web\r\nTransfer-Encoding: chunked\r\n\r\n",
             b"5\r\nhello\r\n0\r\n\r\n"], [200], [b"POST /c hello"], [], True, id="chunked-post"),
        pytest.param(
            [req("/x", "POST", b"", "Expect: 100-continue", "Content-Length: 2"), b"hi"],
            [200], [b"POST /x hi"], [100], True, id="expect-100-continue"),
        pytest.param([req("/d", "GET", b"", "l5d-dtab: /svc/web => /$/inet/127.0.0.1/{dead}")],
                     [502], [None], [], True, id="l5d-dtab-to-a-dead-port"),
        pytest.param([b"GET /h HTTP/1.0\r\nHost: web\r\n\r\n"], [200], [b"GET /h "], [], False,
                     id="http-1.0"),
        pytest.param([b"\r\n\r\n" + req("/lead")], [200], [b"GET /lead "], [], True,
                     id="blank-lines-before-the-request"),
        pytest.param([b"GET\x01 / HTTP/1.1\r\nHost: web\r\n\r\n"], [400], [None], [], False,
                     id="malformed-request-line"),
    ],
)  # fmt: skip
async def test_odd_connections_are_handed_to_the_full_server(
    meshes: Meshes,
    backend: Backend,
    writes: list[bytes],
    statuses: list[int],
    bodies: list[bytes | None],
    interim: list[int],
    stays_open: bool,
) -> None:
    m = await meshes.start(backend.address)
    c = await warm(m)
    assert kinds(m) == {LaneConnection}
    await c.send(*(w.replace(b"{dead}", str(free_port()).encode()) for w in writes))
    got = await c.read(len(statuses))
    assert [r.status for r in got] == statuses
    assert [bytes(r.body) if b else None for r, b in zip(got, bodies, strict=True)] == bodies
    for _, _, headers, _ in backend.seen:  # each a request (line first), forwarded as such
        assert {"via", "l5d-dst-service"} <= {k.lower() for k, _ in headers}
    assert [r.status for r in c.interim] == interim
    if stays_open:  # and the next request is the full server's too
        assert kinds(m) == {ServerConnection}
        await c.send(req("/after"))
        assert bytes((await c.read())[0].body) == b"GET /after "
    else:
        assert await c.closed()
    c.close()  # (a ServerConnection lingers after a half-close until the client closes)


@pytest.mark.parametrize("lane", [True, False])
async def test_stop_finishes_the_answer_in_flight_within_the_grace(
    meshes: Meshes, backend: Backend, lane: bool
) -> None:
    m = await meshes.start(backend.address, lane=lane)
    c = await warm(m)
    await c.send(req("/slow"))
    await wait_for_call(backend, "/slow")
    assert kinds(m) == {LaneConnection if lane else ServerConnection}
    meshes.started.remove(m)
    stopping = asyncio.create_task(m.stop())
    (r,) = await c.read()
    assert r.status == 200 and bytes(r.body) == b"GET /slow "
    assert r.get("connection") == "close"  # the client is told its connection ends
    assert await c.closed()
    c.close()
    async with asyncio.timeout(1.5):  # the grace is 1 s
        await stopping


@pytest.mark.parametrize("lane", [True, False])
async def test_stop_closes_the_connections_to_backends(
    meshes: Meshes, backend: Backend, lane: bool
) -> None:
    m = await meshes.start(backend.address, lane=lane)
    c = await warm(m)
    await c.send(req("/2"))
    assert (await c.read())[0].status == 200
    assert backend.open == (2 if lane else 1)  # the full path's, and the lane's own
    c.close()
    meshes.started.remove(m)
    await m.stop()

    async def still_open() -> int:
        return backend.open

    assert await settled(still_open) == 0, "backend connections left open after Mesh.stop()"


def sized(line: int = 0, head: int = 0) -> bytes:
    """A GET whose request line is ``line`` bytes, its header section ``head`` (as the
    limits count them: name, value and 4 bytes a header)."""
    path = "/" + "a" * (line - 14) if line else "/"
    pad = [f"x-pad: {'p' * (head - 20)}"] if head else []
    return req(path, "GET", b"", *pad)


@pytest.mark.parametrize("lane", [True, False])
@pytest.mark.parametrize(
    ("request_", "status"),
    [
        pytest.param(sized(line=4096), 200, id="line-at-the-limit"),
        pytest.param(sized(line=4097), 414, id="line-one-over"),
        pytest.param(sized(line=6000), 414, id="a-6000-byte-url"),
        pytest.param(sized(head=8192), 200, id="headers-at-the-limit"),
        pytest.param(sized(head=8193), 431, id="headers-one-over"),
        pytest.param(sized(head=10_000), 431, id="10-KB-of-headers"),
        pytest.param(sized(line=4000, head=8000), 200, id="both-near-their-limits"),
    ],
)
async def test_the_request_line_and_header_limits_are_the_full_servers(
    meshes: Meshes, backend: Backend, lane: bool, request_: bytes, status: int
) -> None:
    m = await meshes.start(backend.address, lane=lane)
    for c in (await warm(m), await Client.open(m.servers[0].address)):  # a route, and none
        await c.send(request_)
        assert (await c.read())[0].status == status
        c.close()


@pytest.mark.parametrize("lane", [True, False])
async def test_the_idle_timer_rests_while_a_long_answer_is_in_flight(
    meshes: Meshes, backend: Backend, lane: bool
) -> None:
    m = await meshes.start(backend.address, lane=lane)
    server = m.servers[0]
    server.config = dataclasses.replace(server.config, idle_timeout=0.1)  # new connections'
    c = await warm(m)
    cpu = time.process_time()
    await c.send(req("/slow?s=1.5"))  # 15 idle timeouts long
    (r,) = await c.read()
    cpu = time.process_time() - cpu
    assert (r.status, bytes(r.body)) == (200, b"GET /slow?s=1.5 ")
    assert cpu < 0.5, f"{cpu:.2f} s of CPU while waiting 1.5 s for an answer"
    assert await c.closed()  # and then the idle timeout does close the connection
    c.close()


async def test_a_client_with_a_pool_size_limit_is_left_to_the_full_path(
    backend: Backend, meshes: Meshes
) -> None:
    pool = "  client: {hostConnectionPool: {maxSize: 1}}\n"
    m = await meshes.start(backend.address, extra=pool)
    clients = [await warm(m) for _ in range(4)]
    backend.reset()
    for c in clients:
        await c.send(req("/"))
    for c in clients:
        assert (await c.read())[0].status == 200
    assert backend.accepted <= 1  # the full path's one pooled connection: none of the lane's
    for c in clients:
        c.close()


SECOND = b"GET /b HTTP/1.1\r\nContent-Length: 60\r\nX-Pad: "
SECOND += b"a" * (60 - len(SECOND))  # the start of a request whose length is its own


@pytest.mark.parametrize("lane", [True, False])
async def test_a_second_request_started_in_the_same_read_is_not_taken_for_a_body(
    meshes: Meshes, backend: Backend, lane: bool
) -> None:
    """One read: a whole request and the head of another whose Content-Length matches what
    follows. Taken as one request with a body, the rest would wait on a pooled backend
    connection and swallow the next client's request."""
    m = await meshes.start(backend.address, lane=lane)
    (await warm(m)).close()
    backend.reset()
    first = await Client.open(m.servers[0].address)
    await first.send(req("/a"))  # its head, known to the lane: not enough to take the read
    assert bytes((await first.read())[0].body) == b"GET /a "
    first.writer.write(req("/a") + SECOND)
    assert bytes((await first.read())[0].body) == b"GET /a "
    other = await Client.open(m.servers[0].address)
    await other.send(req("/c", "POST", b"secret-body"))
    assert bytes((await other.read())[0].body) == b"POST /c secret-body"
    assert [path for _, path, _, _ in backend.seen] == ["/a", "/a", "/c"]
    first.close()
    other.close()


@pytest.mark.parametrize("lane", [True, False])
@pytest.mark.parametrize("line", [b"GET  /x HTTP/1.1", b"GET /x  HTTP/1.1"])
async def test_a_request_line_with_more_spaces_keeps_its_target(
    meshes: Meshes, backend: Backend, lane: bool, line: bytes
) -> None:
    m = await meshes.start(backend.address, lane=lane)
    c = await warm(m)
    backend.reset()
    for _ in range(2):  # (the lane's route is cached after the first)
        await c.send(line + b"\r\nHost: web\r\n\r\n")
        r = (await c.read())[0]
        assert (r.status, bytes(r.body)) == (200, b"GET /x ")
    assert [path for _, path, _, _ in backend.seen] == ["/x", "/x"]
    c.close()
