"""roost.rpc in one file: two backends, a load-balanced client, an admin page.

    python examples/rpc_hello.py

Starts two HTTP backends (one of them slow), sends 200 requests through a P2C Peak-EWMA
client with failure accrual, requeues and a 1 s total timeout, then prints where the
requests went and a few of the client's metrics. Admin metrics are served meanwhile at
http://127.0.0.1:9990/metrics.
"""

from __future__ import annotations

import asyncio
import collections

from roost.rpc.http import Headers, Request, Response, client, serve
from roost.rpc.http.admin import admin_service
from roost.rpc.service import FnService
from roost.rpc.stats import DEFAULT_REGISTRY, flat_json


def backend(name: str, delay: float) -> FnService[Request, Response]:
    async def handle(req: Request) -> Response:
        await asyncio.sleep(delay)
        return Response(200, Headers([("Content-Type", "text/plain")]), name.encode())

    return FnService(handle)


async def main() -> None:
    fast = await serve("127.0.0.1:0", backend("fast", 0.001), label="fast")
    slow = await serve("127.0.0.1:0", backend("slow", 0.05), label="slow")
    admin = await serve("127.0.0.1:9990", admin_service(), label="admin")
    web = client(f"{fast.address},{slow.address}", label="web", total_timeout=1.0)

    async def worker() -> list[bytes]:
        out = []
        for _ in range(50):
            rep = await web(Request("GET", "/"))
            out.append(rep.body if isinstance(rep.body, bytes) else b"?")
        return out

    answers = [a for part in await asyncio.gather(*(worker() for _ in range(4))) for a in part]
    print("answered by:", dict(collections.Counter(a.decode() for a in answers)))
    stats = flat_json(DEFAULT_REGISTRY)
    for key in ("clnt/web/requests", "clnt/web/success", "clnt/web/request_latency_ms.p99"):
        print(f"{key} = {stats[key]}")
    await web.close()
    for server in (fast, slow, admin):
        await server.close(grace=1.0)


if __name__ == "__main__":
    asyncio.run(main())
