"""What the fast lane's tests share (tests/mesh/test_lane*.py): a raw HTTP backend whose
path says what it does, a raw client, meshes with the lane on or off, and a scenario runner
that records what the client, the backend and the metrics saw."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

import pytest
from httptools import HttpParserError, HttpResponseParser

from roost.mesh.app import Mesh
from roost.mesh.config import load_config
from roost.rpc.stats import MetricsRegistry
from tests.mesh.meshkit import metrics

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
    "/204-chunked": (b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n", b""),
    "/junk": (HI + b"junk\r\n\r\n", b""),  # not even an answer
    "/early-hints": (b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" + HI, b""),
    "/continue": (b"HTTP/1.1 100 Continue\r\n\r\n", HI),
    "/continue-sized": (b"HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n" + HI, b""),
    "/marked": (b"HTTP/1.1 200 OK\r\nl5d-success-class: 0.0\r\nContent-Length: 2\r\n\r\nhi", b""),
    "/close": (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", b""),
    "/hi": (HI, b""),
    "/blank-first": (b"\r\n\r\n" + HI, b""),  # blank lines before the answer (skipped)
    "/interim-body": (b"HTTP/1.1 150 Odd\r\nContent-Length: 38\r\n\r\n" + HI[:-2]
                      + PLANTED, b""),  # a 1xx with a body, HI's head as the body
    "/later-body": (HI[:-2], b"hi"),  # HI's head, its body 50 ms later
    "/dated": (b"HTTP/1.1 200 OK\r\nDate: Mon, 07 Dec 2026 18:00:00 GMT\r\n"
               b"Connection: keep-alive\r\nContent-Length: 2\r\n\r\nhi", b""),  # nginx's way
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
        self.via: list[int] = []
        """For each request seen, which connection it came on (1: the first accepted)."""
        self.server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    def reset(self) -> None:
        self.seen.clear()
        self.calls.clear()
        self.via.clear()
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
        number = self.accepted
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
                self.via.append(number)
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
        app = b"%d" % self.calls[path] if path == "/unique" else b"1"  # (a new head each time)
        w.write(
            b"HTTP/1.1 %s\r\nx-app: %s\r\nContent-Length: %d\r\n\r\n" % (status, app, len(body))
        )
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
