"""Resident memory per idle keep-alive connection of the roost.rpc HTTP server.

    python bench/rpc_idle_memory.py --connections 10000

The server runs in a subprocess (on uvloop, then on the default asyncio loop). This process
opens ``--connections`` sockets to it, sends one keep-alive ``GET /`` on each and reads the
answer, then leaves them all idle. The server's RSS (psutil) before and after, divided by
the connection count, is the cost of an idle connection. Target: < 20 KB each.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


def raise_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def serve(port: int, loop: str, connections: int) -> None:
    import asyncio

    from roost.rpc.http import Request, Response, Server, ServerConfig, listen
    from roost.rpc.service import FnService

    raise_fd_limit(connections + 100)
    servers: list[Server] = []

    async def hello(req: Request) -> Response:
        if req.target == "/connections":
            return Response(200, body=str(len(servers[0].connections)).encode())
        return Response(200, body=b"ok")

    async def main() -> None:
        config = ServerConfig(idle_timeout=None, backlog=4096)
        servers.append(await listen(("127.0.0.1", port), FnService(hello), config=config))
        gc.collect()
        await asyncio.Event().wait()

    if loop == "uvloop":
        import uvloop

        uvloop.run(main())
    else:
        asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server_process(loop: str, connections: int) -> Iterator[tuple[int, psutil.Process]]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", loop, "--port", str(port), "-n", str(connections)],
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        yield port, psutil.Process(proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def get(sock: socket.socket, target: str = "/") -> bytes:
    """One keep-alive request; the response body."""
    sock.sendall(REQUEST.replace(b"/", target.encode(), 1))
    data = b""
    while b"\r\n\r\n" not in data:
        data += recv(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += recv(sock)
    return body


def recv(sock: socket.socket) -> bytes:
    chunk = sock.recv(4096)
    if not chunk:
        raise RuntimeError("the server closed a connection")
    return chunk


def measure(loop: str, connections: int, settle: float) -> tuple[float, float, int]:
    with server_process(loop, connections) as (port, proc):
        warm = socket.create_connection(("127.0.0.1", port))
        get(warm)  # the first request imports and allocates what every later one reuses
        time.sleep(settle)
        before = proc.memory_info().rss
        socks: list[socket.socket] = []
        try:
            for _ in range(connections):
                s = socket.create_connection(("127.0.0.1", port))
                get(s)
                socks.append(s)
            time.sleep(settle)
            after = proc.memory_info().rss
            open_now = int(get(warm, "/connections"))
        finally:
            for s in socks:
                s.close()
            warm.close()
    return before / 2**20, after / 2**20, open_now


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", "--connections", type=int, default=10_000)
    p.add_argument("--settle", type=float, default=2.0, help="seconds before each reading")
    p.add_argument("--loops", default="uvloop,asyncio")
    p.add_argument("--serve", choices=["uvloop", "asyncio"], help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(args.port, args.serve, args.connections)
        return
    limit = raise_fd_limit(args.connections + 100)
    if limit < args.connections + 100:
        sys.exit(f"need {args.connections + 100} open files, the hard limit is {limit}")
    print(
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {args.connections} idle connections\n"
    )
    print("| server loop | RSS before MB | RSS after MB | open connections | per connection KB |")
    print("|---|---:|---:|---:|---:|")
    for loop in args.loops.split(","):
        before, after, open_now = measure(loop, args.connections, args.settle)
        per = (after - before) * 1024 / args.connections
        print(
            f"| {loop} | {before:.1f} | {after:.1f} | {open_now} | {per:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
