"""``/master/state`` latency with many registered agents, and whether allocation keeps its
interval meanwhile.

A real ``roost master`` runs as a subprocess; N emulated agents (speaking the real agent
protocol, ``roost.testing.emulated_agent``) register from this process; a framework holds a
subscription so allocation has work; then ``/master/state`` is fetched R times back to back
while ``allocator/mesos/allocation_runs`` is sampled to check the 1 s interval still holds.

    python bench/master_state.py --agents 1000 --requests 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from roost.testing.emulated_agent import EmulatedAgent
from roost.testing.processes import master_process


async def main(addr: str, agents: int, requests: int, interval: float) -> None:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    client = httpx.AsyncClient(timeout=httpx.Timeout(30, read=None), limits=limits)
    fleet: list[EmulatedAgent] = []
    try:
        for _ in range(100):
            try:
                await client.get(f"http://{addr}/health")
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        t0 = time.perf_counter()
        for i in range(agents):
            fleet.append(
                EmulatedAgent(
                    addr, hostname=f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", client=client
                )
            )
        for chunk in range(0, agents, 100):
            await asyncio.gather(*(a.start() for a in fleet[chunk : chunk + 100]))
        reg_s = time.perf_counter() - t0
        # A subscribed framework that never answers: every agent ends up offered to it.
        sub = {"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "b", "name": "bench"}}}
        stream_cm = client.stream("POST", f"http://{addr}/api/v1/scheduler", json=sub)
        stream = await stream_cm.__aenter__()
        offers: list[str] = []
        drain = asyncio.create_task(_drain(stream, offers))
        stream_id = stream.headers["mesos-stream-id"]
        await asyncio.sleep(2 * interval + 0.5)
        fid = offers.pop(0) if offers else ""
        m0 = (await client.get(f"http://{addr}/metrics/snapshot")).json()
        t_start = time.perf_counter()
        lat: list[float] = []
        cached: list[float] = []
        size = 0
        for _ in range(requests):
            # Change the cluster before each request (decline one offer) so every request
            # pays for a fresh snapshot, then ask again at once to time the cached path.
            if offers:
                body = {
                    "type": "DECLINE",
                    "framework_id": {"value": fid},
                    "decline": {
                        "offer_ids": [{"value": offers.pop()}],
                        "filters": {"refuse_seconds": 3600},
                    },
                }
                await client.post(
                    f"http://{addr}/api/v1/scheduler",
                    json=body,
                    headers={"Mesos-Stream-Id": stream_id},
                )
            await asyncio.sleep(0.06)
            s = time.perf_counter()
            resp = await client.get(f"http://{addr}/master/state")
            lat.append((time.perf_counter() - s) * 1000)
            size = len(resp.content)
            s = time.perf_counter()
            await client.get(f"http://{addr}/master/state")
            cached.append((time.perf_counter() - s) * 1000)
        elapsed = time.perf_counter() - t_start
        m1 = (await client.get(f"http://{addr}/metrics/snapshot")).json()
        runs = m1["allocator/mesos/allocation_runs"] - m0["allocator/mesos/allocation_runs"]
        expected = elapsed / interval
        lat.sort()
        print(f"machine: {os.cpu_count()} cores; agents: {agents}; registration: {reg_s:.1f} s")
        print(f"/master/state: {size / 1e6:.2f} MB, {requests} requests")
        print(
            f"  fresh snapshot: median {statistics.median(lat):.1f} ms   p95 {lat[int(0.95 * (len(lat) - 1))]:.1f} ms   max {lat[-1]:.1f} ms"
        )
        print(f"  cached snapshot: median {statistics.median(cached):.1f} ms")
        print(
            f"allocation runs during polling: {runs:.0f} in {elapsed:.1f} s (interval {interval} s -> ~{expected:.1f} expected)"
        )
        print(
            f"last allocation run: {m1['allocator/mesos/allocation_run_ms']:.2f} ms; slaves_active {m1['master/slaves_active']:.0f}"
        )
        drain.cancel()
        await stream_cm.__aexit__(None, None, None)
    finally:
        for a in fleet:
            if a._task is not None:
                a._task.cancel()
        await client.aclose()


async def _drain(stream: httpx.Response, offers: list[str]) -> None:
    import json

    from roost.core.recordio import Decoder

    decoder = Decoder()
    async for chunk in stream.aiter_bytes():
        for record in decoder.feed(chunk):
            event = json.loads(record)
            if event["type"] == "SUBSCRIBED":
                offers.insert(0, event["subscribed"]["framework_id"]["value"])
            elif event["type"] == "OFFERS":
                offers.extend(o["id"]["value"] for o in event["offers"]["offers"])


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agents", type=int, default=1000)
    p.add_argument("--requests", type=int, default=30)
    p.add_argument("--interval", type=float, default=1.0)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="roost-bench-"))
    master = master_process(work, "--allocation-interval", str(args.interval)).start()
    try:
        asyncio.run(main(master.address, args.agents, args.requests, args.interval))
    finally:
        master.terminate()
