"""HTTP/1.1 requests/s and latency on loopback: roost.rpc client → roost.rpc server, next
to aiohttp → aiohttp and httpx → uvicorn (and two crossings that tell client cost from
server cost), all measured in the same run.

    python bench/rpc_http.py --concurrency 32 --duration 5

Each server runs in its own subprocess on uvloop, pinned to the last core when there are
two or more (the clients run in this process, on the other cores). Every client keeps
``--concurrency`` keep-alive connections busy with ``GET /`` (a 13-byte answer) for
``--duration`` seconds or ``--requests`` requests, whichever comes first, after a short
warm-up. Prints a markdown table; the CPU columns are each process's CPU time (user + system)
per request during the measured part, which the machine's noise moves far less than req/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

BODY = b"Hello, world!"
PAIRS = {
    "roost → roost": ("roost", "roost"),
    "roost stack → roost stack": ("roost-stack", "roost-stack"),
    "roost stack → roost": ("roost-stack", "roost"),
    "roost → roost stack": ("roost", "roost-stack"),
    "aiohttp → aiohttp": ("aiohttp", "aiohttp"),
    "httpx → uvicorn": ("httpx", "uvicorn"),
    "roost → uvicorn": ("roost", "uvicorn"),
    "aiohttp → roost": ("aiohttp", "roost"),
}


# -- servers (run in a subprocess: ``--serve NAME --port N``) ------------------------------


def serve_roost(port: int) -> None:
    import uvloop

    from roost.rpc.http import Request, Response, listen
    from roost.rpc.http.message import Headers
    from roost.rpc.service import FnService

    async def hello(req: Request) -> Response:
        return Response(200, Headers([("Content-Type", "text/plain")]), BODY)

    async def main() -> None:
        await listen(("127.0.0.1", port), FnService(hello))
        await asyncio.Event().wait()

    uvloop.run(main())


def serve_roost_stack(port: int) -> None:
    """``roost.rpc.http.serve``: the server stack (tracing, stats, deadline admission)."""
    import uvloop

    from roost.rpc.http import Request, Response, serve
    from roost.rpc.http.message import Headers
    from roost.rpc.service import FnService

    async def hello(req: Request) -> Response:
        return Response(200, Headers([("Content-Type", "text/plain")]), BODY)

    async def main() -> None:
        await serve(("127.0.0.1", port), FnService(hello), label="bench")
        await asyncio.Event().wait()

    uvloop.run(main())


def serve_aiohttp(port: int) -> None:
    import uvloop
    from aiohttp import web

    async def hello(request: web.Request) -> web.Response:
        return web.Response(body=BODY, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/", hello)
    web.run_app(
        app, host="127.0.0.1", port=port, print=None, access_log=None, loop=uvloop.new_event_loop()
    )


def serve_uvicorn(port: int) -> None:
    import uvicorn

    async def app(
        scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": BODY})

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


SERVERS = {
    "roost": serve_roost,
    "roost-stack": serve_roost_stack,
    "aiohttp": serve_aiohttp,
    "uvicorn": serve_uvicorn,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server_process(name: str, cpus: set[int] | None) -> Iterator[tuple[int, int]]:
    """Start one server subprocess; yield its port and pid; kill its process group after."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", name, "--port", str(port)],
        start_new_session=True,
    )
    try:
        if cpus:
            os.sched_setaffinity(proc.pid, cpus)
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} server did not start")
            time.sleep(0.05)
        yield port, proc.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# -- clients (in this process) ---------------------------------------------------------

Call = Callable[[], Awaitable[None]]


@contextlib.asynccontextmanager
async def roost_client(port: int, concurrency: int) -> AsyncIterator[Call]:
    from roost.rpc.http import HttpEndpointFactory, PoolConfig, Request, read_body

    pool = HttpEndpointFactory(("127.0.0.1", port), PoolConfig(high=concurrency))

    async def call() -> None:
        rep = await pool(Request("GET", "/"))
        if await read_body(rep.body) != BODY:
            raise RuntimeError("bad body")

    yield call
    await pool.close()


@contextlib.asynccontextmanager
async def roost_stack_client(port: int, concurrency: int) -> AsyncIterator[Call]:
    """``roost.rpc.http.client``: the whole client stack (tracing, stats, requeues, budget,
    NACK admission, P2C Peak-EWMA, failure accrual, pool) over one endpoint."""
    from roost.rpc.http import PoolConfig, Request, client, read_body

    web = client(f"127.0.0.1:{port}", label="bench", pool=PoolConfig(high=concurrency))

    async def call() -> None:
        rep = await web(Request("GET", "/"))
        if await read_body(rep.body) != BODY:
            raise RuntimeError("bad body")

    yield call
    await web.close()


@contextlib.asynccontextmanager
async def aiohttp_client(port: int, concurrency: int) -> AsyncIterator[Call]:
    import aiohttp

    url = f"http://127.0.0.1:{port}/"
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def call() -> None:
            async with session.get(url) as rep:
                if await rep.read() != BODY:
                    raise RuntimeError("bad body")

        yield call


@contextlib.asynccontextmanager
async def httpx_client(port: int, concurrency: int) -> AsyncIterator[Call]:
    import httpx

    url = f"http://127.0.0.1:{port}/"
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits) as client:

        async def call() -> None:
            rep = await client.get(url)
            if rep.content != BODY:
                raise RuntimeError("bad body")

        yield call


CLIENTS = {
    "roost": roost_client,
    "roost-stack": roost_stack_client,
    "aiohttp": aiohttp_client,
    "httpx": httpx_client,
}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    latencies_ns: list[int]
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    def cpu_us(self, seconds: float) -> float:
        return seconds / self.requests * 1e6 if self.requests else float("nan")

    def pct(self, p: float) -> float:
        data = sorted(self.latencies_ns)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(p / 100 * len(data)))] / 1e6


async def drive(call: Call, concurrency: int, duration: float, limit: int) -> Result:
    latencies: list[int] = []
    errors = 0
    stop_at = time.perf_counter() + duration

    started = 0

    async def worker() -> None:
        nonlocal errors, started
        clock = time.perf_counter_ns
        while started < limit and time.perf_counter() < stop_at:
            started += 1
            began = clock()
            try:
                await call()
            except Exception:
                errors += 1
                continue
            latencies.append(clock() - began)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(len(latencies), errors, time.perf_counter() - began, latencies)


async def measure(client: str, port: int, pid: int, args: argparse.Namespace) -> Result:
    async with CLIENTS[client](port, args.concurrency) as call:
        await drive(call, args.concurrency, args.warmup, 10**9)
        mine, theirs = time.process_time(), cpu_seconds(pid)
        result = await drive(call, args.concurrency, args.duration, args.requests)
        result.client_cpu = time.process_time() - mine
        result.server_cpu = cpu_seconds(pid) - theirs
        return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--concurrency", type=int, default=32, help="keep-alive connections")
    p.add_argument("--duration", type=float, default=5.0, help="seconds measured per pair")
    p.add_argument("--requests", type=int, default=200_000, help="at most this many per pair")
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--pairs", default=",".join(PAIRS), help="comma-separated pair names")
    p.add_argument("--serve", choices=SERVERS, help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        SERVERS[args.serve](args.port)
        return

    import uvloop

    cores = os.cpu_count() or 1
    server_cpus = {cores - 1} if cores >= 2 else None
    if server_cpus:
        os.sched_setaffinity(0, set(range(cores - 1)))
    print(
        f"{cores} cores ({'server pinned to core ' + str(cores - 1) if server_cpus else 'shared'}),"
        f" Python {sys.version.split()[0]}, "
        + ", ".join(
            f"{m} {version(m)}" for m in ("uvloop", "httptools", "aiohttp", "httpx", "uvicorn")
        )
        + ","
        f" {args.concurrency} connections, {args.duration:g} s or {args.requests} requests per pair\n"
    )
    print(
        "| client → server | requests | req/s | p50 ms | p99 ms | errors"
        " | client CPU µs/req | server CPU µs/req |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.pairs.split(","):
        client, server = PAIRS[name.strip()]
        with server_process(server, server_cpus) as (port, pid):
            r = uvloop.run(measure(client, port, pid, args))
        print(
            f"| {name} | {r.requests} | {r.requests / r.seconds:,.0f} |"
            f" {r.pct(50):.2f} | {r.pct(99):.2f} | {r.errors} |"
            f" {r.cpu_us(r.client_cpu):.1f} | {r.cpu_us(r.server_cpu):.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
