"""Test helpers: a scripted stand-in for the master's scheduler endpoint, served for real on loopback.

It exercises the driver's transport rules (redirects, stream ids, silent streams, refusals)
that the real master does not produce on demand; the behaviour of a real cluster is covered
by ``test_driver_integration.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from roost.cluster.scheduler import Scheduler, SchedulerDriver
from roost.core.http import HttpServer
from roost.core.recordio import encode_json


class FakeMaster:
    def __init__(self, framework_id: str = "F-0001", heartbeat: float = 15.0) -> None:
        self.framework_id = framework_id
        self.heartbeat = heartbeat
        self.subscribes: list[dict[str, Any]] = []
        self.calls: list[tuple[dict[str, Any], str | None]] = []
        self.streams: list[asyncio.Queue[bytes | None]] = []
        #: Return a response to answer SUBSCRIBE differently (redirect, refusal ...).
        self.on_subscribe: Callable[[int], Response | None] = lambda n: None
        self.call_reply: tuple[int, str] = (202, "")
        #: Runs before a call is answered (to end the stream first, as TEARDOWN may).
        self.before_reply: Callable[[dict[str, Any]], Awaitable[None]] | None = None
        app = Starlette(routes=[Route("/api/v1/scheduler", self._handle, methods=["POST"])])
        self.server = HttpServer(app, "127.0.0.1", 0, name="fake-master")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    def calls_of(self, kind: str) -> list[dict[str, Any]]:
        return [body for body, _ in self.calls if body["type"] == kind]

    def send(self, event: dict[str, Any], stream: int = -1) -> None:
        self.streams[stream].put_nowait(encode_json(event))

    def end_stream(self, stream: int = -1) -> None:
        self.streams[stream].put_nowait(None)

    async def _handle(self, request: Request) -> Response:
        body = json.loads(await request.body())
        if body["type"] != "SUBSCRIBE":
            self.calls.append((body, request.headers.get("mesos-stream-id")))
            if self.before_reply is not None:
                await self.before_reply(body)
            status, text = self.call_reply
            return PlainTextResponse(text, status_code=status)
        self.subscribes.append(body)
        special = self.on_subscribe(len(self.subscribes))
        if special is not None:
            return special
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.streams.append(queue)
        queue.put_nowait(
            encode_json(
                {
                    "type": "SUBSCRIBED",
                    "subscribed": {
                        "framework_id": {"value": self.framework_id},
                        "heartbeat_interval_seconds": self.heartbeat,
                        "master_info": {"id": "fake", "port": self.server.port},
                    },
                }
            )
        )

        async def events() -> AsyncIterator[bytes]:
            while (item := await queue.get()) is not None:
                yield item

        headers = {"Mesos-Stream-Id": f"stream-{len(self.streams)}"}
        return StreamingResponse(events(), headers=headers, media_type="application/json")


class Recorder(Scheduler):
    """Records every callback as ``(name, args...)``; ``hooks[name]`` runs extra code."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []
        self.hooks: dict[str, Callable[..., Awaitable[None]]] = {}

    def names(self) -> list[str]:
        return [s[0] for s in self.seen]

    async def _record(self, name: str, driver: SchedulerDriver, *args: Any) -> None:
        self.seen.append((name, *args))
        if name in self.hooks:
            await self.hooks[name](driver, *args)

    async def subscribed(self, driver: SchedulerDriver, fid: str, info: dict[str, Any]) -> None:
        await self._record("subscribed", driver, fid, info)

    async def offers(self, driver: SchedulerDriver, offers: list[dict[str, Any]]) -> None:
        await self._record("offers", driver, offers)

    async def rescind(self, driver: SchedulerDriver, offer_id: str) -> None:
        await self._record("rescind", driver, offer_id)

    async def update(self, driver: SchedulerDriver, status: dict[str, Any]) -> None:
        await self._record("update", driver, status)

    async def message(self, driver: SchedulerDriver, aid: str, eid: str, data: bytes) -> None:
        await self._record("message", driver, aid, eid, data)

    async def failure(
        self, driver: SchedulerDriver, aid: str | None, eid: str | None, status: int | None
    ) -> None:
        await self._record("failure", driver, aid, eid, status)

    async def error(self, driver: SchedulerDriver, message: str) -> None:
        await self._record("error", driver, message)

    async def heartbeat(self, driver: SchedulerDriver) -> None:
        await self._record("heartbeat", driver)

    async def disconnected(self, driver: SchedulerDriver) -> None:
        await self._record("disconnected", driver)


async def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    """Poll ``check`` (any condition on recorded state) until it holds."""
    async with asyncio.timeout(within):
        while not check():
            await asyncio.sleep(0.01)
