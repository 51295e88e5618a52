"""Allocation-run latency of the DRF allocator: ``python bench/allocator.py``.

For 1,000 and 10,000 agents (``cpus:8;mem:32768;disk:100000;ports:[31000-32000]``) and ten
frameworks in ten roles, reports the median and p95 over ``--reps`` repetitions of:

* **full**: a run from nothing allocated (everything is recovered, untimed, between runs);
* **steady**: a run when everything is already offered (the periodic tick of a busy cluster);
* **after decline**: a full run after every offer was declined with the default 5 s filter,
  so each agent is skipped for its last framework (filter look-ups on every agent).

Targets: full run over 10,000 agents < 100 ms, steady-state run < 5 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable

from roost.cluster.master.allocator import DEFAULT_REFUSE_SECONDS, Allocation, Allocator
from roost.core.clock import ManualClock
from roost.core.resources import Resources

AGENT = Resources.parse("cpus:8;mem:32768;disk:100000;ports:[31000-32000]")
FRAMEWORKS = 10


def build(agents: int, frameworks: int = FRAMEWORKS) -> tuple[Allocator, ManualClock, float]:
    clock = ManualClock()
    alloc = Allocator(clock, random=random.Random(1))
    start = time.perf_counter()
    for i in range(frameworks):
        alloc.add_framework(f"framework-{i}", role=f"role-{i}")
    for i in range(agents):
        alloc.add_agent(f"agent-{i:05d}", AGENT)
    return alloc, clock, (time.perf_counter() - start) * 1000


def recover_all(alloc: Allocator, offers: list[Allocation], refuse: float | None = None) -> None:
    for a in offers:
        alloc.recover(a.framework_id, a.agent_id, a.resources, refuse)


def timed(run: Callable[[], list[Allocation]]) -> tuple[float, list[Allocation]]:
    start = time.perf_counter()
    out = run()
    return (time.perf_counter() - start) * 1000, out


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def bench(agents: int, reps: int, frameworks: int) -> list[tuple[str, int, list[float], int]]:
    alloc, clock, setup_ms = build(agents, frameworks)
    print(f"  {agents:>6} agents: setup (add {frameworks} frameworks + agents) {setup_ms:.0f} ms")
    offers = alloc.allocate()  # warm-up
    full, steady, declined = [], [], []
    for _ in range(reps):
        recover_all(alloc, offers)
        ms, offers = timed(alloc.allocate)
        full.append(ms)
        assert len(offers) == agents
        ms, extra = timed(alloc.allocate)
        steady.append(ms)
        assert not extra
    for _ in range(reps):
        recover_all(alloc, offers, DEFAULT_REFUSE_SECONDS)
        ms, offers = timed(alloc.allocate)
        declined.append(ms)
        assert len(offers) == agents
        clock.advance(DEFAULT_REFUSE_SECONDS)
    return [
        ("full run", agents, full, len(offers)),
        ("steady-state run", agents, steady, 0),
        ("full run after declines", agents, declined, len(offers)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--agents", type=int, nargs="*", default=[1_000, 10_000])
    parser.add_argument("--frameworks", type=int, default=FRAMEWORKS, help="each in its own role")
    args = parser.parse_args()
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    print(
        f"roost allocator bench: Python {platform.python_version()} on {platform.machine()}, "
        f"{cores} cores ({usable} usable), {args.frameworks} frameworks in {args.frameworks} roles, "
        f"{args.reps} repetitions"
    )
    rows = [row for n in args.agents for row in bench(n, args.reps, args.frameworks)]
    print()
    print(
        f"{'scenario':<26}{'agents':>8}{'offers':>8}{'median ms':>12}{'p95 ms':>10}{'max ms':>10}"
    )
    print("-" * 74)
    for name, agents, samples, offers in rows:
        print(
            f"{name:<26}{agents:>8}{offers:>8}{statistics.median(samples):>12.3f}"
            f"{p95(samples):>10.3f}{max(samples):>10.3f}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
