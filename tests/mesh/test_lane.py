"""The mesh's fast lane (roost.mesh.lane) on loopback: it answers as the full path does
(statuses, bodies, forwarded headers, metrics), serves plain requests itself, hands odd
connections to a ServerConnection, relays what backends do (and no more: not bytes after an
answer, 1xx answers, hop-by-hop headers or a backend's l5d-success-class), keeps the full
server's limits, requeues NACKs, keeps its books when a client leaves (mid-answer, or while
the lane connects), a name retries or the mesh drains, and lets go of endpoints discovery
removed. A raw backend and raw client sockets."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import socket
import struct
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

import pytest
from httptools import HttpParserError, HttpResponseParser

from roost.mesh.app import Mesh
from roost.mesh.config import load_config
from roost.mesh.lane.conn import LaneConnection
from roost.rpc.http.server_conn import ServerConnection
from roost.rpc.stats import MetricsRegistry
from tests.mesh.meshkit import free_port, metrics

pytestmark = pytest.mark.slow

BIG = bytes(range(256)) * 4096  # 1 MiB
HUGE = bytes(range(251)) * 20_900  # ~5 MB, a length prime to the chunk size
CHUNKS = [b"alpha", b"-" * 3000, b"omega"]
RETRYABLE = "  service: {responseClassifier: {kind: io.l5d.http.retryableRead5XX}}\n"
HI = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
EVIL = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil"
PLANTED = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"  # 38 bytes
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
ODD = {  # path: what the backend writes, and what it writes 50 ms later
    "/evil": (HI + EVIL, b""),  # a second answer, in the same write
    "/evil-later": (HI, EVIL),  # a second answer, on a connection with nothing asked
    "/evil-chunked": (CHUNKED + b"2\r\nhi\r\n0\r\n\r\n" + EVIL, b""),
    "/chunked-ends-later": (CHUNKED + b"2\r\nhi\r\n", b"0\r\n\r\n" + EVIL),  # its end, and more
    "/304-sized": (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 38\r\n\r\n" + PLANTED, b""),
    "/204-sized": (b"HTTP/1.1 204 No Content\r\nContent-Length: 38\r\n\r\n" + PLANTED, b""),
    "/junk": (HI + b"junk\r\n\r\n", b""),  # not even an answer
    "/early-hints": (b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" + HI, b""),
    "/continue": (b"HTTP/1.1 100 Continue\r\n\r\n", HI),
    "/marked": (b"HTTP/1.1 200 OK\r\nl5d-success-class: 0.0\r\nContent-Length: 2\r\n\r\nhi", b""),
    "/close": (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", b""),
    "/nominated": (b"HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: s3cr3t\r\n"
                   b"Content-Length: 2\r\n\r\nhi", b""),  # a hop-by-hop header of its own
}  # fmt: skip


class Backend:
    """A raw HTTP/1.1 backend; the path says what it does (see ``_answer``)."""

    def __init__(self, *, nacking: bool = False) -> None:
        self.nacking = nacking
        """``/nack`` is refused with a NACK (503 ``finagle-http-nack``), else answered."""
        self.seen: list[tuple[str, str, list[tuple[str, str]], bytes]] = []
        self.calls: Counter[str] = Counter()
        self.accepted = self.open = 0
        self.server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    def reset(self) -> None:
        self.seen.clear()
        self.calls.clear()
        self.accepted = 0

    async def aclose(self) -> None:
        assert self.server is not None
        self.server.close()
        for w in self._writers:
            w.close()
        async with asyncio.timeout(2):
            while self.open:
                await asyncio.sleep(0.01)

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open += 1
        self._writers.add(writer)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                line, *lines = head.split("\r\n")[:-2]
                method, target, _ = line.split(" ")
                headers = [(k.strip(), v.strip()) for k, _, v in (x.partition(":") for x in lines)]
                body = await _body(reader, headers)
                self.seen.append((method, target, headers, body))
                self.calls[target] += 1
                if not await self._answer(method, target, body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, method: str, path: str, got: bytes, w: asyncio.StreamWriter) -> bool:
        """Answer a request; ``False``: close the connection."""
        if path == "/hang-up" or (path == "/every-other" and self.calls[path] % 2):
            return False
        if path in ODD:  # an answer with something more (or less) to it, body "hi"/"ok"
            before, after = ODD[path]
            w.write(before)
            await w.drain()
            if after:
                await asyncio.sleep(0.05)
                w.write(after)
            return path != "/close"
        if path == "/nack" and self.nacking:
            w.write(b"HTTP/1.1 503 Service Unavailable\r\nfinagle-http-nack: 1\r\n"
                    b"Content-Length: 4\r\n\r\nnack")  # fmt: skip
            return True
        if path in ("/chunked", "/huge"):  # in pieces, with pauses
            chunked = path == "/chunked"
            framing = (
                b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % len(HUGE)
            )
            w.write(b"HTTP/1.1 200 OK\r\n%s\r\n\r\n" % framing)
            parts = CHUNKS if chunked else [HUGE[i : i + 65536] for i in range(0, len(HUGE), 65536)]
            for part in parts:
                w.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                await w.drain()
                await asyncio.sleep(0.01 if chunked else 0.002)
            w.write(b"0\r\n\r\n" if chunked else b"")
            return True
        if path == "/dribble":  # a head, then a 210-byte body 10 bytes at a time, in 1 s
            w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 210\r\n\r\n" + b"x" * 10)
            for _ in range(20):
                await asyncio.sleep(0.05)
                w.write(b"x" * 10)
            return True
        if path.startswith("/slow"):  # /slow?s=1.5: seconds
            await asyncio.sleep(float(path.partition("=")[2] or 0.5))
        failing = path == "/fail" or (path == "/flaky" and self.calls[path] == 1)
        body = BIG if path == "/big" else f"{method} {path} ".encode() + got
        status = b"500 Internal Server Error" if failing else b"200 OK"
        w.write(b"HTTP/1.1 %s\r\nx-app: 1\r\nContent-Length: %d\r\n\r\n" % (status, len(body)))
        w.write(body)
        return True


async def _body(reader: asyncio.StreamReader, headers: list[tuple[str, str]]) -> bytes:
    fields = {k.lower(): v for k, v in headers}
    if "content-length" in fields:
        return await reader.readexactly(int(fields["content-length"]))
    out = b""
    while fields.get("transfer-encoding", "").lower() == "chunked":
        size = int((await reader.readline()).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if not size:
            break
        out += chunk[:-2]
    return out


@dataclass
class Reply:
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


class Client:
    """A raw keep-alive client connection; ``read(n)`` parses the next ``n`` answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = HttpResponseParser(self)
        self.done: list[Reply] = []
        self.interim: list[Reply] = []
        self.cur = Reply()
        self.raw = bytearray()

    @classmethod
    async def open(cls, address: str) -> Client:
        host, port = address.rsplit(":", 1)
        return cls(*await asyncio.open_connection(host, int(port), limit=16 * 1024))

    async def send(self, *parts: bytes, pause: float = 0.05) -> None:
        for i, part in enumerate(parts):
            await asyncio.sleep(pause if i else 0)
            self.writer.write(part)
            await self.writer.drain()

    async def read(self, n: int = 1, *, slowly: float = 0.0) -> list[Reply]:
        async with asyncio.timeout(8):
            while len(self.done) < n:
                data = await self.reader.read(16 * 1024)
                assert data, f"closed after {len(self.done)} of {n} answers"
                self.raw += data
                try:
                    self.parser.feed_data(data)
                except HttpParserError as exc:
                    at = len(self.raw) - len(data)  # where this read began
                    raise AssertionError(f"{exc}: {bytes(self.raw[at - 30 : at + 30])!r}") from exc
                await asyncio.sleep(slowly)
        got, self.done = self.done[:n], self.done[n:]
        return got

    async def closed(self) -> bool:
        async with asyncio.timeout(3):
            return await self.reader.read() == b""

    def close(self) -> None:
        self.writer.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        self.cur.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self.cur.body += body

    def on_message_complete(self) -> None:
        self.cur.status = self.parser.get_status_code()
        (self.done if self.cur.status >= 200 else self.interim).append(self.cur)
        self.cur = Reply()


def req(path: str = "/", method: str = "GET", body: bytes = b"", *extra: str) -> bytes:
    head = [f"{method} {path} HTTP/1.1", "Host: web", *extra]
    head += [f"Content-Length: {len(body)}"] if body else []
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@contextlib.asynccontextmanager
async def serving(b: Backend) -> AsyncIterator[Backend]:
    b.server = await asyncio.start_server(b._conn, "127.0.0.1", 0)
    try:
        yield b
    finally:
        await b.aclose()


@pytest.fixture
async def backend() -> AsyncIterator[Backend]:
    async with serving(Backend()) as b:
        yield b


class Meshes:
    """Meshes a test started (stopped after it), one router ``r`` with ``/svc => target``."""

    def __init__(self, tmp: FilePath) -> None:
        self.tmp = tmp
        self.started: list[Mesh] = []

    async def start(
        self, target: str, *, lane: bool = True, extra: str = "", namers: str = ""
    ) -> Mesh:
        """``target``: ``host:port``, or a dtab path (``/#/io.l5d.fs`` with ``namers``)."""
        host, _, port = target.rpartition(":")
        leaf = target if target.startswith("/") else f"/$/inet/{host}/{port}"
        yaml = (
            f"admin: {{port: 0}}\n{namers}routers:\n- protocol: http\n  label: r\n"
            f"  dtab: /svc => {leaf}\n  servers: [{{port: 0}}]\n{extra}"
        )
        config = load_config(yaml)
        m = Mesh(config, base_dir=self.tmp, registry=MetricsRegistry(), fast_lane=lane)
        self.started.append(m)
        await m.start()
        return m

    async def start_fs(self, *backends: Backend, lane: bool = True) -> Mesh:
        """A mesh whose name ``web`` an io.l5d.fs file lists (``backends``; see ``relist``)."""
        self.relist(*backends)
        fs = "namers:\n- {kind: io.l5d.fs, rootDir: disco}\n"
        return await self.start("/#/io.l5d.fs", lane=lane, namers=fs)

    def relist(self, *backends: Backend) -> None:
        """(Re)write the file listing the endpoints of ``web`` (the namer reads it each second)."""
        disco = self.tmp / "disco"
        disco.mkdir(exist_ok=True)
        (disco / "web").write_text("".join(f"{b.address.replace(':', ' ')}\n" for b in backends))


@pytest.fixture
async def meshes(tmp_path: FilePath) -> AsyncIterator[Meshes]:
    ms = Meshes(tmp_path)
    yield ms
    for m in ms.started:
        await m.stop()


def kinds(m: Mesh) -> set[type]:
    return {type(c) for c in m.servers[0].connections}


async def warm(m: Mesh) -> Client:
    """A keep-alive connection whose first request (the full path's) made the name's route."""
    c = await Client.open(m.servers[0].address)
    await c.send(req("/"))
    assert (await c.read())[0].status == 200
    return c


async def wait_for_call(backend: Backend, path: str) -> None:
    async with asyncio.timeout(3):
        while not backend.calls[path]:
            await asyncio.sleep(0.01)


async def settled(probe: Callable[[], Awaitable[Any]], within: float = 2.0) -> Any:
    """``await probe()`` until it is falsy or ``within`` seconds pass; its last value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (value := await probe()) and loop.time() < deadline:
        await asyncio.sleep(0.05)
    return value


COUNTERS = re.compile(
    r"rt/r/(server/[^/]+/[^/]+|service/svc/web|client/.+)/(requests|success|failures)"
    r"|rt/r/service/svc/web/retries/(per_request\.count|total)"
)
FORWARDED = ("via", "l5d-dst-service", "l5d-dst-client", "l5d-dst-residual")


async def run(
    meshes: Meshes, b: Backend, target: str, lane: bool, extra: str, sends: list[bytes]
) -> dict[str, Any]:
    """One scenario through a fresh mesh: what the client, the backend and metrics saw."""
    b.reset()
    m = await meshes.start(target, lane=lane, extra=extra)
    c = await Client.open(m.servers[0].address)
    answers = []
    for data in sends:
        await c.send(data)
        (r,) = await c.read()
        names = sorted(k.lower() for k, _ in r.headers)
        marks = (r.get("via"), r.get("l5d-success-class"), r.get("l5d-err") is not None)
        answers.append((r.status, bytes(r.body), names, marks))
        if r.get("connection") == "close":  # the mesh closes this one: go on on another
            c.close()
            c = await Client.open(m.servers[0].address)
    c.close()
    forwarded = []
    for method, path, headers, body in b.seen:
        fields = {k.lower(): v for k, v in headers}
        names = sorted(k.lower() for k, _ in headers)
        forwarded.append((method, path, body, names, *map(fields.get, FORWARDED)))
    counted = {k: v for k, v in (await metrics(m)).items() if COUNTERS.fullmatch(k)}
    return {"counters": counted, "backend got": forwarded, "client got": answers}


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
        pytest.param("/junk", 200, b"hi", id="junk-after-the-answer"),
        pytest.param("/early-hints", 200, b"hi", id="103-early-hints"),
        pytest.param("/continue", 200, b"hi", id="100-continue-apart"),
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
    await c.send(req(path))
    (r,) = await c.read()
    assert (r.status, bytes(r.body)) == (status, body)
    assert c.interim == []  # 1xx answers are the mesh's business, not relayed
    marks = [v for k, v in r.headers if k.lower() == "l5d-success-class"]
    assert marks == ["1.0"]  # the router's verdict, alone
    assert r.get("connection") is None  # hop-by-hop: not for the client
    assert r.get("x-secret") is None  # nor what the backend's Connection names
    await asyncio.sleep(0.15)  # (what comes after the answer has come)
    for i in range(3):  # the same client connection, and nothing of the extra answer
        await c.send(req(f"/after{i}"))
        (r,) = await c.read()
        assert (r.status, bytes(r.body)) == (200, f"GET /after{i} ".encode())
    assert kinds(m) == {LaneConnection if lane else ServerConnection}
    c.close()


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
