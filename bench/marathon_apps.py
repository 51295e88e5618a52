"""``GET /v2/apps`` with N apps: latency p50/p99 of the full list (counts and deployments
embedded, as Marathon always does), with ``embed=apps.tasks``, and of ``GET /ping`` in the same
run as the floor of one HTTP round trip to the same server.

A real ``roost master`` and ``roost marathon`` (no agent: the apps have 0 instances, so the
measurement is the API, not the cluster). Apps are created with ``PUT /v2/apps`` in batches.

    python bench/marathon_apps.py --apps 1000 --requests 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from roost.testing.processes import marathon_process, master_process, wait_until


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(c: httpx.Client, path: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        r = c.get(path)
        r.raise_for_status()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--apps", type=int, default=1000)
    p.add_argument("--requests", type=int, default=200)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        master = master_process(work / "master").start()
        marathon = marathon_process(master.address, work / "marathon").start()
        try:
            c = httpx.Client(base_url=marathon.url, timeout=60)
            wait_until(lambda: c.get("/v2/info").json()["frameworkId"], 30)
            start = time.perf_counter()
            for first in range(0, args.apps, 100):
                batch = [
                    {
                        "id": f"/bench/g{i // 100}/app-{i}",
                        "cmd": "sleep 3600",
                        "cpus": 0.01,
                        "mem": 8,
                        "instances": 0,
                        "labels": {"team": f"t{i % 7}"},
                        "env": {"N": str(i)},
                        "healthChecks": [{"protocol": "HTTP", "path": "/health"}],
                    }
                    for i in range(first, min(args.apps, first + 100))
                ]
                r = c.put("/v2/apps", json=batch)
                assert r.status_code == 200, r.text
            created = time.perf_counter() - start
            wait_until(lambda: c.get("/v2/deployments").json() == [], 60)
            size = len(c.get("/v2/apps").content)
            assert len(c.get("/v2/apps").json()["apps"]) == args.apps
            ping = timed(c, "/ping", args.requests)
            full = timed(c, "/v2/apps", args.requests)
            tasks = timed(c, "/v2/apps?embed=apps.tasks", args.requests)
        finally:
            marathon.terminate()
            master.terminate()
    print(f"machine: {os.cpu_count()} cores; apps: {args.apps}; requests: {args.requests}")
    print(f"created {args.apps} apps in {created:.1f} s (PUT /v2/apps, 100 per request)")
    print(f"GET /v2/apps: {size / 1e6:.2f} MB")
    for name, values in (
        ("GET /ping", ping),
        ("GET /v2/apps", full),
        ("GET /v2/apps?embed=apps.tasks", tasks),
    ):
        print(
            f"  {name:32s} p50 {statistics.median(values):7.1f} ms   "
            f"p99 {percentile(values, 0.99):7.1f} ms"
        )
    print(
        f"ratio GET /v2/apps / ping (p50): {statistics.median(full) / statistics.median(ping):.0f}x"
    )


if __name__ == "__main__":
    main()
