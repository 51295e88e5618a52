"""Cost of recording a metric on the request path: ``python bench/rpc_stats.py``.

Times ``Counter.incr()``, ``Histogram.add(v)`` (log-normal latencies, integers, values
below 0.001) and, for scale, an empty call and a ``prometheus_client`` Counter / Summary.
Each row is the best of ``--repeat`` runs of ``--n`` calls (bounded: default 200,000 calls,
at most 5,000,000; 5 runs), reported in ns per call with the empty-loop overhead *not*
subtracted; the last row is one export-time snapshot (six percentiles) of that histogram.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter
from prometheus_client import Summary as PromSummary

from roost.rpc.stats import MetricsRegistry, StatsReceiver


def per_call_ns(fn: Callable[[float], object], values: list[float], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter_ns()
        for v in values:
            fn(v)
        best = min(best, (time.perf_counter_ns() - start) / len(values))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = min(args.n, 5_000_000)

    rng = random.Random(1)
    latencies = [rng.lognormvariate(1.0, 1.0) for _ in range(n)]
    ints = [float(rng.randrange(1, 1000)) for _ in range(n)]
    tiny = [rng.random() * 0.001 for _ in range(n)]

    stats = StatsReceiver(MetricsRegistry()).scope("clnt", "bench")
    counter = stats.counter("requests")
    hist = stats.stat("request_latency_ms")
    prom = CollectorRegistry()
    prom_counter = PromCounter("bench_requests", "requests", registry=prom)
    prom_summary = PromSummary("bench_latency_ms", "latency", registry=prom)

    def noop(v: float) -> None:
        pass

    def incr(v: float) -> None:
        counter.incr()

    rows = [
        ("empty function call (loop overhead)", per_call_ns(noop, latencies, args.repeat)),
        ("Counter.incr()", per_call_ns(incr, latencies, args.repeat)),
        ("Histogram.add(lognormal ms)", per_call_ns(hist.add, latencies, args.repeat)),
        ("Histogram.add(integers)", per_call_ns(hist.add, ints, args.repeat)),
        ("Histogram.add(< 0.001)", per_call_ns(hist.add, tiny, args.repeat)),
        (
            "prometheus_client Counter.inc()",
            per_call_ns(lambda v: prom_counter.inc(), latencies, args.repeat),
        ),
        ("prometheus_client Summary.observe(v)", per_call_ns(prom_summary.observe, latencies, 1)),
    ]
    snapshot_ns = per_call_ns(lambda v: hist.snapshot(), latencies[:20], args.repeat)

    print(f"python {sys.version.split()[0]} on {platform.machine()}, n={n}, best of {args.repeat}")
    print(f"{'operation':<40} {'ns/call':>8}")
    for name, ns in rows:
        print(f"{name:<40} {ns:>8.0f}")
    print(f"{'Histogram.snapshot() (all percentiles)':<40} {snapshot_ns:>8.0f}")


if __name__ == "__main__":
    main()
