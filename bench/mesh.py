"""roost mesh against nginx and HAProxy as HTTP reverse proxies, one run, one machine, the
same backend (nginx answering a fixed 200):

    python bench/mesh.py --duration 10 --connections 32

Installs ``nginx-light``, ``haproxy`` and ``wrk`` with apt when they are missing (root).
Measured, for direct / nginx proxy (1 worker) / HAProxy (1 thread) / roost mesh (1 worker,
full stack: identifier, dtab binding, P2C Peak-EWMA, failure accrual, requeues, stats):

* requests/s and p50/p99 with ``wrk`` (``--connections`` keep-alive connections, 1 thread);
* p50/p99 at a constant 1,000 requests/s (an open-loop asyncio generator), and what each
  proxy adds to the direct path;
* roost mesh's RSS idle and under load, and the time from starting it to the first routed
  request;
* the same mesh with its fast lane off (``ROOST_MESH_LANE=0``: every request through the full
  server stack, router and client stack), for comparison.

The backend is pinned to core 0, each proxy to core 1, load generators to core 0 (on two
cores the generator and backend share one).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_tools() -> None:
    missing = [p for t, p in (("nginx", "nginx-light"), ("haproxy", "haproxy"), ("wrk", "wrk"))
               if not shutil.which(t) and not os.path.exists(f"/usr/sbin/{t}")]  # fmt: skip
    if missing:
        print(f"installing {' '.join(missing)} with apt", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})  # fmt: skip


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"port {port} never opened")


@contextlib.contextmanager
def process(args: list[str], cpus: set[int], **kw: object) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]  # fmt: skip
    with contextlib.suppress(OSError):
        os.sched_setaffinity(proc.pid, cpus)
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def nginx_conf(tmp: Path, port: int, upstream: int | None) -> Path:
    body = (
        'proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";'
        if upstream
        else 'return 200 "hello\\n";'
    )
    up = f"upstream up {{ server 127.0.0.1:{upstream}; keepalive 64; }}" if upstream else ""
    conf = tmp / f"nginx-{port}.conf"
    conf.write_text(
        f"""daemon off; worker_processes 1; pid {tmp}/nginx-{port}.pid; error_log /dev/null;
events {{ worker_connections 4096; }}
http {{ access_log off; client_body_temp_path {tmp}; proxy_temp_path {tmp};
  fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp}; {up}
  server {{ listen 127.0.0.1:{port}; keepalive_requests 1000000; location / {{ {body} }} }} }}
"""
    )
    return conf


def haproxy_conf(tmp: Path, port: int, upstream: int) -> Path:
    conf = tmp / "haproxy.cfg"
    conf.write_text(
        f"""global
  nbthread 1
  maxconn 4000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:{port}
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:{upstream}
"""
    )
    return conf


def mesh_conf(tmp: Path, port: int, admin: int, upstream: int, name: str = "mesh.yaml") -> Path:
    (tmp / "disco").mkdir(exist_ok=True)
    (tmp / "disco" / "bench").write_text(f"127.0.0.1 {upstream}\n")
    conf = tmp / name
    conf.write_text(
        f"""admin: {{port: {admin}}}
namers:
- {{kind: io.l5d.fs, rootDir: disco}}
routers:
- protocol: http
  dtab: /svc => /#/io.l5d.fs
  servers: [{{port: {port}}}]
  client: {{loadBalancer: {{kind: ewma}}}}
"""
    )
    return conf


def wrk(port: int, duration: float, connections: int) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) from ``wrk --latency``."""
    out = subprocess.run(
        [
            "taskset",
            "-c",
            "0",
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration:g}s",
            "--latency",
            "-H",
            "Host: bench",
            f"http://127.0.0.1:{port}/",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return (float(rps.group(1)) if rps else float("nan"), ms("50"), ms("99"))


async def constant_rate(port: int, rate: int, seconds: float) -> tuple[float, float]:
    """p50 and p99 ms at ``rate`` requests/s, open loop (a request starts on schedule)."""
    from roost.rpc.http import Headers, HttpEndpointFactory, PoolConfig, Request, read_body
    from roost.rpc.service import FactoryToService

    pool = HttpEndpointFactory(("127.0.0.1", port), PoolConfig(high=256))
    service = FactoryToService(pool)
    latencies: list[float] = []

    async def one() -> None:
        start = time.perf_counter()
        rep = await service(Request("GET", "/", Headers([("Host", "bench")])))
        await read_body(rep.body)
        latencies.append((time.perf_counter() - start) * 1000)

    tasks = []
    begin = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    await pool.close()
    latencies.sort()
    return statistics.median(latencies), latencies[int(0.99 * len(latencies)) - 1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--rate", type=int, default=1000)
    p.add_argument("--rate-seconds", type=float, default=10.0)
    args = p.parse_args()
    ensure_tools()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    print(f"{os.cpu_count()} cores; {args.connections} connections, {args.duration:g} s each; "
          f"constant {args.rate} req/s for {args.rate_seconds:g} s\n")  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        backend_port = free_port()
        rows: list[tuple[str, float, float, float, float, float]] = []
        with process([nginx, "-c", str(nginx_conf(tmp, backend_port, None))], {0}) as be:
            wait_port(backend_port, be)
            targets: list[tuple[str, list[str], int]] = []
            port = free_port()
            targets.append(("nginx proxy (1 worker)",
                            [nginx, "-c", str(nginx_conf(tmp, port, backend_port))], port))  # fmt: skip
            port = free_port()
            targets.append(("HAProxy (1 thread)",
                            [haproxy, "-f", str(haproxy_conf(tmp, port, backend_port))], port))  # fmt: skip
            port, admin = free_port(), free_port()
            conf = mesh_conf(tmp, port, admin, backend_port)
            targets.append(("roost mesh (1 worker)",
                            [sys.executable, "-m", "roost", "mesh", "--config", str(conf)], port))  # fmt: skip
            port, admin = free_port(), free_port()
            full = mesh_conf(tmp, port, admin, backend_port, "mesh-full.yaml")
            targets.append(("roost mesh, full path only (ROOST_MESH_LANE=0)",
                            [sys.executable, "-m", "roost", "mesh", "--config", str(full)], port))  # fmt: skip

            rps, p50, p99 = wrk(backend_port, args.duration, args.connections)
            r50, r99 = asyncio.run(constant_rate(backend_port, args.rate, args.rate_seconds))
            rows.append(("direct (nginx backend)", rps, p50, p99, r50, r99))
            mesh_stats: dict[str, float] = {}
            for name, cmd, tport in targets:
                started = time.perf_counter()
                env = {**os.environ, "ROOST_MESH_LANE": "0" if "LANE=0" in name else "1"}
                with process(cmd, {1}, env=env) as proc:
                    wait_port(tport, proc)
                    main = name == "roost mesh (1 worker)"
                    if main:
                        mesh_stats["first"] = first_routed(tport, started)
                        mesh_stats["idle"] = rss_mb(proc.pid)
                    elif name.startswith("roost"):
                        first_routed(tport, started)
                    rps, p50, p99 = wrk(tport, args.duration, args.connections)
                    if main:
                        mesh_stats["load"] = rss_mb(proc.pid)
                    r50, r99 = asyncio.run(constant_rate(tport, args.rate, args.rate_seconds))
                    if main:
                        mesh_stats["after"] = rss_mb(proc.pid)
                rows.append((name, rps, p50, p99, r50, r99))
    base99 = rows[0][5]
    print("| target | req/s (wrk) | p50 / p99 ms (wrk) | p50 / p99 ms at "
          f"{args.rate}/s | added p99 ms at {args.rate}/s |")  # fmt: skip
    print("|---|---:|---|---|---:|")
    for name, rps, p50, p99, r50, r99 in rows:
        added = "" if name.startswith("direct") else f"{r99 - base99:.2f}"
        print(f"| {name} | {rps:,.0f} | {p50:.2f} / {p99:.2f} | {r50:.2f} / {r99:.2f} | {added} |")
    nginx_rps = rows[1][1]
    print(f"\nroost mesh / nginx proxy throughput: {rows[3][1] / nginx_rps:.2f}")
    print(f"roost mesh, full path only / nginx proxy throughput: {rows[4][1] / nginx_rps:.2f}")
    print(f"roost mesh RSS: idle {mesh_stats['idle']:.1f} MB, after wrk {mesh_stats['load']:.1f} "
          f"MB, after the constant-rate run {mesh_stats['after']:.1f} MB")  # fmt: skip
    print(f"roost mesh start to first routed request: {mesh_stats['first']:.2f} s")


def rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 1e6


def first_routed(port: int, started: float) -> float:
    import httpx

    while True:
        with contextlib.suppress(httpx.HTTPError):
            rep = httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": "bench"}, timeout=1)
            if rep.status_code == 200:
                return time.perf_counter() - started
        time.sleep(0.005)


if __name__ == "__main__":
    main()
