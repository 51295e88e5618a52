"""Marathon at scale: one app with N instances (``sleep 3600``, cpus 0.001, mem 1) on a local
agent; time from ``POST /v2/apps`` until every instance is TASK_RUNNING in ``/v2/apps``.

Real ``roost master``, ``roost agent`` and ``roost marathon`` processes. In the same run it
spawns N ``sleep 3600`` processes directly (``subprocess.Popen``, each in its own session like
the agent does) — the floor any process-per-task system pays on this machine.

    python bench/marathon_launch.py --instances 1000
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from roost.testing.processes import agent_process, marathon_process, master_process, wait_until


def bare_spawn(n: int) -> float:
    start = time.perf_counter()
    procs = [
        subprocess.Popen(["/bin/sh", "-c", "sleep 3600"], start_new_session=True) for _ in range(n)
    ]
    took = time.perf_counter() - start
    for p in procs:
        os.killpg(p.pid, signal.SIGKILL)
    for p in procs:
        p.wait()
    return took


def roost_launch(n: int, work: Path) -> tuple[float, float]:
    master = master_process(work / "master").start()
    agent = agent_process(
        master.address,
        work / "agent",
        "--resources",
        f"cpus:8;mem:{max(4096, 2 * n)};disk:10000;ports:[31000-{31000 + 2 * n}]",
    ).start()
    marathon = marathon_process(master.address, work / "marathon").start()
    try:
        c = httpx.Client(base_url=marathon.url, timeout=30)
        wait_until(lambda: c.get("/v2/info").json()["frameworkId"], 30)
        app = {"id": "/big", "cmd": "sleep 3600", "cpus": 0.001, "mem": 1, "instances": n}
        start = time.perf_counter()
        r = c.post("/v2/apps", json=app)
        assert r.status_code == 201, r.text
        first = 0.0
        while True:
            a = c.get("/v2/apps", params={"id": "big"}).json()["apps"][0]
            if not first and a["tasksRunning"]:
                first = time.perf_counter() - start
            if a["tasksRunning"] == n:
                break
            if time.perf_counter() - start > 300:
                raise TimeoutError(f"only {a['tasksRunning']} of {n} running after 300 s")
            time.sleep(0.5)
        took = time.perf_counter() - start
        c.delete("/v2/apps/big")
        wait_until(lambda: not c.get("/v2/tasks").json()["tasks"], 120)
        return took, first
    finally:
        marathon.terminate()
        agent.terminate(60)
        master.terminate()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--instances", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    n = args.instances
    rounds, bares = [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as d:
            rounds.append(roost_launch(n, Path(d)))
        bares.append(bare_spawn(n))
    took = statistics.median(r[0] for r in rounds)
    first = statistics.median(r[1] for r in rounds)
    bare = statistics.median(bares)
    print(f"machine: {os.cpu_count()} cores; instances: {n}; rounds: {args.rounds}")
    print(
        f"roost marathon: all {n} RUNNING after median {took:.1f} s "
        f"(rounds: {', '.join(f'{r[0]:.1f}' for r in rounds)}; first RUNNING {first:.2f} s)"
    )
    print(f"bare Popen of {n} 'sleep 3600': median {bare:.2f} s")
    print(f"ratio roost / bare: {took / bare:.1f}x")


if __name__ == "__main__":
    main()
