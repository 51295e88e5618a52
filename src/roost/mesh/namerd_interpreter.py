"""``interpreter: {kind: io.l5d.namerd.http, dst: /$/inet/<host>/<port>, namespace: …}``:
the router's dtab comes from namerd and follows it.

The router keeps a ``GET /api/1/dtabs/<namespace>?watch=true`` stream open; every dtab it
reads becomes the router's base dtab at once (new requests bind with it). When the stream
breaks, the router keeps routing with the last dtab it had and reconnects, waiting 0.2 s,
then twice as long each time, up to 5 s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from roost.core.aio import cancel_quietly
from roost.naming import Dtab, NamingSyntaxError, Path, bind
from roost.naming.addr import Bound

log = logging.getLogger(__name__)


async def namerd_url(dst: str) -> str:
    """The HTTP base URL of the namerd a ``dst`` path (``/$/inet/127.0.0.1/4180``) names."""
    tree = await bind(Dtab(), Path.read(dst))
    for name in tree.leaves():
        addr = name.addr.value
        if isinstance(addr, Bound) and addr.addresses:
            return f"http://{sorted(addr.addresses, key=lambda a: a.hostport)[0].hostport}"
    raise ValueError(f"interpreter dst {dst} names no address")


class NamerdDtabWatcher:
    def __init__(
        self,
        url: str,
        namespace: str,
        on_dtab: Callable[[Dtab], None],
        *,
        min_backoff: float = 0.2,
        max_backoff: float = 5.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.namespace = namespace
        self.on_dtab = on_dtab
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.dtab: Dtab | None = None
        self.updates = 0
        self.failures = 0
        self.first = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._follow())

    async def _follow(self) -> None:
        import httpx  # only a namerd interpreter needs it: not loaded into every mesh

        backoff = self.min_backoff
        target = f"{self.url}/api/1/dtabs/{self.namespace}?watch=true"
        headers = {"Accept": "application/dtab"}
        timeout = httpx.Timeout(5.0, read=None)
        async with httpx.AsyncClient(timeout=timeout) as client:
            while True:
                try:
                    async with client.stream("GET", target, headers=headers) as rep:
                        if rep.status_code != 200:
                            raise httpx.HTTPStatusError(
                                f"HTTP {rep.status_code}", request=rep.request, response=rep
                            )
                        async for line in rep.aiter_lines():
                            self._received(line)
                            backoff = self.min_backoff
                except (httpx.HTTPError, NamingSyntaxError) as exc:
                    self.failures += 1
                    log.warning("namerd %s: %s (keeping the last dtab)", target, exc)
                await asyncio.sleep(backoff)
                backoff = min(self.max_backoff, backoff * 2)

    def _received(self, line: str) -> None:
        if not line.strip():
            return
        dtab = Dtab.read(line)
        if dtab != self.dtab:
            self.dtab = dtab
            self.updates += 1
            self.on_dtab(dtab)
        self.first.set()

    async def aclose(self) -> None:
        task, self._task = self._task, None
        await cancel_quietly(task)
