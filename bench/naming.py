"""roost.naming costs: parsing a 20-entry dtab, one lookup step, and an uncached bind of a
5-hop delegation ending at an inet address (reference §7's goals: < 1 ms and < 100 µs).

    python bench/naming.py --rounds 5

Prints the median of ``--rounds`` runs of each, in microseconds per operation.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from roost.naming import Dtab, Path, bind

DTAB_20 = ";".join(
    [f"/svc/app{i} => /srv/app{i} | /$/fail" for i in range(15)]
    + [
        "/svc => /hop1",
        "/hop1 => /hop2",
        "/hop2 => /hop3",
        "/hop3 => /hop4",
        "/hop4 => /$/inet/127.0.0.1/8080",
    ]
)


def per_op(fn: object, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / n * 1e6


async def per_op_async(coro_fn: object, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await coro_fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / n * 1e6


async def main(rounds: int) -> None:
    dtab = Dtab.read(DTAB_20)
    assert len(dtab) == 20
    path = Path.read("/svc/web/users")
    parse, lookup, bound = [], [], []
    for _ in range(rounds):
        parse.append(per_op(lambda: Dtab.read(DTAB_20), 500))
        lookup.append(per_op(lambda: dtab.lookup(path), 20_000))
        bound.append(await per_op_async(lambda: bind(dtab, path), 5_000))
    tree = await bind(dtab, path)
    print(f"bound {path.show} -> {tree.show} (5 rewrites)")
    print(f"parse a 20-entry dtab:        median {statistics.median(parse):8.1f} us")
    print(f"one lookup step (20 entries): median {statistics.median(lookup):8.1f} us")
    print(f"uncached bind, 5 hops:        median {statistics.median(bound):8.1f} us")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(p.parse_args().rounds))
