"""CPU instructions per request through roost mesh, deterministic where req/s on a shared VM
is not: a raw client, the mesh and a raw backend (httptools, answering as nginx does) in one
process, N requests over 32 keep-alive connections (one at a time on each, as ``wrk`` in
bench/mesh.py sends them), run twice under callgrind (N and 3N requests); the difference over
2N is the cost of one request::

    python bench/mesh_instructions.py                 # fast lane (needs valgrind)
    ROOST_MESH_LANE=0 python bench/mesh_instructions.py   # the full path
    python bench/mesh_instructions.py --direct        # client and backend alone: the floor
    python bench/mesh_instructions.py --once -n 20000 # no valgrind: in-process req/s

Installs ``valgrind`` with apt when it is missing (root).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httptools
import uvloop

RSP = (
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 18:00:00 GMT\r\n"
    b"Content-Type: application/octet-stream\r\nContent-Length: 6\r\n"
    b"Connection: keep-alive\r\n\r\nhello\n"
)
REQ = b"GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\n\r\n"


class Backend(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        self.transport.write(RSP)


class Client(asyncio.Protocol):
    def __init__(self, count: int, done: asyncio.Future[None]) -> None:
        self.left = count
        self.done = done
        self.parser = httptools.HttpResponseParser(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.transport.write(REQ)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        self.left -= 1
        if self.left:
            self.transport.write(REQ)
        else:
            self.done.set_result(None)


async def drive(port: int, count: int, connections: int) -> None:
    loop = asyncio.get_running_loop()
    waits = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        waits.append(done)
        await loop.create_connection(lambda d=done: Client(count // connections, d), "127.0.0.1", port)  # type: ignore[misc]  # fmt: skip
    await asyncio.gather(*waits)


async def run(count: int, connections: int, direct: bool) -> None:
    from roost.core.gc_tuning import freeze_startup_objects
    from roost.mesh.app import Mesh
    from roost.mesh.config import load_config
    from roost.rpc.stats import MetricsRegistry

    loop = asyncio.get_running_loop()
    backend = await loop.create_server(Backend, "127.0.0.1", 0)
    backend_port = backend.sockets[0].getsockname()[1]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "disco").mkdir()
        (tmp / "disco" / "bench").write_text(f"127.0.0.1 {backend_port}\n")
        config = load_config(
            "admin: {port: 0}\nnamers:\n- {kind: io.l5d.fs, rootDir: disco}\nrouters:\n"
            "- protocol: http\n  dtab: /svc => /#/io.l5d.fs\n  servers: [{port: 0}]\n"
            "  client: {loadBalancer: {kind: ewma}}\n"
        )
        mesh = Mesh(config, base_dir=tmp, registry=MetricsRegistry())
        await mesh.start()
        port = backend_port if direct else int(mesh.servers[0].address.rsplit(":", 1)[1])
        freeze_startup_objects()
        await drive(port, connections, connections)  # warm: routes, connections
        started = time.perf_counter()
        await drive(port, count, connections)
        elapsed = time.perf_counter() - started
        print(f"{count / elapsed:,.0f} req/s in one process", file=sys.stderr)
        await mesh.stop()
    backend.close()


def instructions(count: int, connections: int, direct: bool) -> int:
    args = [sys.executable, __file__, "--once", "-n", str(count), "-c", str(connections)]
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         *args, *(["--direct"] if direct else [])],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    found = re.search(r"Collected : (\d+)", out)
    if not found:
        raise RuntimeError(f"no instruction count from valgrind:\n{out[-2000:]}")
    return int(found.group(1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", "--requests", type=int, default=2000)
    p.add_argument("-c", "--connections", type=int, default=32)
    p.add_argument("--direct", action="store_true", help="client to backend, no mesh")
    p.add_argument("--once", action="store_true", help="one run, no valgrind")
    args = p.parse_args()
    if args.requests < args.connections or args.connections < 1:
        p.error("--requests must be at least --connections, which must be at least 1")
    if args.once:
        uvloop.run(run(args.requests, args.connections, args.direct))
        return
    if not shutil.which("valgrind"):
        print("installing valgrind with apt", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", "valgrind"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})  # fmt: skip
    n = args.requests
    low = instructions(n, args.connections, args.direct)
    high = instructions(3 * n, args.connections, args.direct)
    what = "client + backend" if args.direct else "client + roost mesh + backend"
    lane = os.environ.get("ROOST_MESH_LANE", "1") != "0"
    mode = "" if args.direct else (" (fast lane)" if lane else " (full path)")
    print(f"{what}{mode}: {(high - low) // (2 * n):,} instructions per request")


if __name__ == "__main__":
    main()
