"""Fixtures for master tests: a real MasterServer on loopback, a raw wire-level scheduler
client (so tests assert on exact bytes and status codes) and emulated agents."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from roost.cluster.master.config import MasterConfig
from roost.cluster.master.server import MasterServer
from roost.core.recordio import Decoder
from roost.testing.emulated_agent import EmulatedAgent


class RawScheduler:
    """Subscribes over the v1 API and records every event."""

    def __init__(
        self, master: str, info: dict[str, Any] | None = None, auto_ack: bool = True
    ) -> None:
        self.auto_ack = auto_ack
        self._acks: set[asyncio.Future[httpx.Response]] = set()
        self.url = f"http://{master}/api/v1/scheduler"
        self.info = info or {"user": "root", "name": "test"}
        self.framework_id: str | None = None
        self.stream_id: str | None = None
        self.events: list[dict[str, Any]] = []
        self._new = asyncio.Condition()
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(10, read=None))
        self._task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    async def subscribe(
        self, framework_id: str | None = None, suppressed_roles: list[str] | None = None
    ) -> None:
        body: dict[str, Any] = {
            "type": "SUBSCRIBE",
            "subscribe": {"framework_info": dict(self.info)},
        }
        if suppressed_roles is not None:
            body["subscribe"]["suppressed_roles"] = suppressed_roles
        if framework_id:
            body["framework_id"] = {"value": framework_id}
            body["subscribe"]["framework_info"]["id"] = {"value": framework_id}
        self.closed.clear()
        start = len(self.events)
        self._task = asyncio.create_task(self._run(body))
        sub = await self.wait_for("SUBSCRIBED", start=start)
        self.framework_id = sub["subscribed"]["framework_id"]["value"]

    async def _run(self, body: dict[str, Any]) -> None:
        try:
            async with self._client.stream("POST", self.url, json=body) as resp:
                assert resp.status_code == 200, resp.status_code
                self.stream_id = resp.headers["mesos-stream-id"]
                decoder = Decoder()
                async for chunk in resp.aiter_bytes():
                    for record in decoder.feed(chunk):
                        event = json.loads(record)
                        async with self._new:
                            self.events.append(event)
                            self._new.notify_all()
                        status = event.get("update", {}).get("status", {})
                        if self.auto_ack and "uuid" in status:
                            ack = {k: status[k] for k in ("agent_id", "task_id", "uuid")}
                            acking = asyncio.ensure_future(self.call("ACKNOWLEDGE", ack))
                            self._acks.add(acking)
                            acking.add_done_callback(self._acks.discard)
        except (httpx.HTTPError, asyncio.CancelledError):
            pass
        finally:
            self.closed.set()

    async def call(self, ctype: str, payload: dict[str, Any] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"type": ctype, "framework_id": {"value": self.framework_id}}
        if payload is not None:
            body[ctype.lower()] = payload
        return await self._client.post(
            self.url, json=body, headers={"Mesos-Stream-Id": self.stream_id or ""}
        )

    async def wait_for(
        self, etype: str, pred: Any = None, timeout: float = 10.0, start: int = 0
    ) -> dict[str, Any]:
        def match() -> dict[str, Any] | None:
            for e in self.events[start:]:
                if e["type"] == etype and (pred is None or pred(e)):
                    return e
            return None

        async def wait() -> dict[str, Any]:
            async with self._new:
                while True:
                    found = match()
                    if found is not None:
                        return found
                    await self._new.wait()

        return await asyncio.wait_for(wait(), timeout)

    async def offer(self, timeout: float = 10.0, start: int = 0) -> dict[str, Any]:
        ev = await self.wait_for("OFFERS", timeout=timeout, start=start)
        return ev["offers"]["offers"][0]

    async def update(self, task_id: str, state: str, timeout: float = 10.0) -> dict[str, Any]:
        ev = await self.wait_for(
            "UPDATE",
            lambda e: (
                e["update"]["status"]["task_id"]["value"] == task_id
                and e["update"]["status"]["state"] == state
            ),
            timeout,
        )
        return ev["update"]["status"]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()


def task_info(
    task_id: str, offer: dict[str, Any], cpus: float = 0.1, mem: float = 32, cmd: str = "true"
) -> dict[str, Any]:
    return {
        "name": task_id,
        "task_id": {"value": task_id},
        "agent_id": offer["agent_id"],
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}},
            {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}},
        ],
        "command": {"value": cmd},
    }


def launch(
    offer: dict[str, Any], *tasks: dict[str, Any], refuse: float | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "offer_ids": [offer["id"]],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": list(tasks)}}],
    }
    if refuse is not None:
        body["filters"] = {"refuse_seconds": refuse}
    return body


async def agent_event(
    agent: EmulatedAgent, etype: str, pred: Any = None, timeout: float = 2.0, start: int = 0
) -> dict[str, Any]:
    """The first event of type ``etype`` (matching ``pred``) the master sent the agent."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for e in agent.events[start:]:
            if e["type"] == etype and (pred is None or pred(e)):
                return e
        if loop.time() > deadline:
            seen = [e["type"] for e in agent.events[start:]]
            raise AssertionError(f"agent got no {etype} within {timeout} s (got {seen})")
        await asyncio.sleep(0.02)


async def until(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``pred`` (any condition on recorded or master state) until it holds."""
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.02)


def fast_config(work_dir: Path, **kw: Any) -> MasterConfig:
    base: dict[str, Any] = dict(
        ip="127.0.0.1",
        port=0,
        work_dir=work_dir,
        allocation_interval=0.05,
        agent_ping_timeout=0.2,
        max_agent_ping_timeouts=3,
        heartbeat_interval=0.5,
    )
    base.update(kw)
    return MasterConfig(**base)


@pytest.fixture
async def master(tmp_path: Path) -> AsyncIterator[MasterServer]:
    server = MasterServer(fast_config(tmp_path / "master"))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def cluster(master: MasterServer) -> AsyncIterator[tuple[MasterServer, EmulatedAgent]]:
    agent = EmulatedAgent(master.address)
    await agent.start()
    yield master, agent
    await agent.stop()


@pytest.fixture
async def scheduler(master: MasterServer) -> AsyncIterator[RawScheduler]:
    s = RawScheduler(master.address)
    await s.subscribe()
    yield s
    await s.close()
