"""A fake master speaking the master side of ``docs/agent-protocol.md``, and agent fixtures.

The fake is deliberately small: it accepts SUBSCRIBE (assigning ``FAKE-S0`` unless the agent
brings an id), streams whatever events the test sends, records every other call, and can
acknowledge updates automatically. It runs on a real loopback port so the agent's HTTP client,
RecordIO decoding and reconnection logic are all exercised.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from roost.cluster.agent.config import AgentConfig
from roost.cluster.agent.server import AgentServer
from roost.core.http import HttpServer
from roost.core.ids import new_uuid
from roost.core.recordio import encode_json

FRAMEWORK = {"id": {"value": "FW1"}, "name": "test-framework", "user": "nobody"}


class FakeMaster:
    def __init__(self, *, agent_id: str = "FAKE-S0", auto_ack: bool = False) -> None:
        self.agent_id = agent_id
        self.auto_ack = auto_ack
        self.ping_interval = 15.0
        self.subscribes: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.raw_calls: list[dict[str, Any]] = []
        self.stream_id: str | None = None
        self._queue: asyncio.Queue[dict[str, Any] | None] | None = None
        self._server: HttpServer | None = None
        self._closing = False
        self.port = 0

    # -- server -------------------------------------------------------------------------------
    async def start(self, port: int = 0) -> None:
        app = Starlette(routes=[Route("/api/v1/agent", self._endpoint, methods=["POST"])])
        self._server = HttpServer(app, "127.0.0.1", port, name="fake-master")
        self._closing = False
        await self._server.start()
        self.port = self._server.port

    async def stop(self) -> None:
        self._closing = True  # uvicorn accepts for up to 0.1 s more: refuse new streams
        if self._queue is not None:
            self._queue.put_nowait(None)
            self._queue = None
        self.stream_id = None
        if self._server is not None:
            await self._server.stop()
            self._server = None

    async def restart(self) -> None:
        await self.stop()
        await self.start(self.port)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _endpoint(self, request: Request) -> Response:
        call = json.loads(await request.body())
        if self._closing:
            return PlainTextResponse("shutting down", status_code=503)
        if call["type"] == "SUBSCRIBE":
            return self._subscribe(call)
        if request.headers.get("mesos-stream-id") != self.stream_id:
            return PlainTextResponse("wrong stream id", status_code=400)
        self.raw_calls.append(call)
        if call["type"] == "UPDATES":  # a batch: observed as the UPDATEs it carries
            batch = call["updates"]["updates"]
            expanded = [
                {"type": "UPDATE", "agent_id": call["agent_id"], "update": u} for u in batch
            ]
        else:
            expanded = [call]
        for c in expanded:
            self.calls.append(c)
            if self.auto_ack and c["type"] == "UPDATE":
                self.ack(c["update"]["status"])
        return Response(status_code=202)

    def _subscribe(self, call: dict[str, Any]) -> Response:
        self.subscribes.append(call)
        given = call["subscribe"]["agent_info"].get("id", {}).get("value")
        if self._queue is not None:
            self._queue.put_nowait(None)  # newest stream wins
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._queue, self.stream_id = queue, new_uuid()
        subscribed = {
            "agent_id": {"value": given or self.agent_id},
            "ping_interval_seconds": self.ping_interval,
        }
        queue.put_nowait({"type": "SUBSCRIBED", "subscribed": subscribed})

        async def events() -> AsyncIterator[bytes]:
            while (event := await queue.get()) is not None:
                yield encode_json(event)

        headers = {"Mesos-Stream-Id": self.stream_id}
        return StreamingResponse(events(), headers=headers, media_type="application/json")

    # -- driving the agent --------------------------------------------------------------------
    def send(self, event: dict[str, Any]) -> None:
        assert self._queue is not None, "no agent subscribed"
        self._queue.put_nowait(event)

    def ack(self, status: dict[str, Any], framework_id: str = "FW1") -> None:
        ack = {"framework_id": {"value": framework_id}, "task_id": status["task_id"]}
        self.send({"type": "ACKNOWLEDGE", "acknowledge": {**ack, "uuid": status["uuid"]}})

    def run_task(self, task_id: str, cmd: str | None = None, **extra: Any) -> None:
        task: dict[str, Any] = {
            "name": task_id,
            "task_id": {"value": task_id},
            "agent_id": {"value": self.agent_id},
            "resources": [
                {"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1}},
                {"name": "mem", "type": "SCALAR", "scalar": {"value": 32}},
            ],
            **extra,
        }
        if cmd is not None:
            task["command"] = {"value": cmd}
        self.send({"type": "RUN_TASK", "run_task": {"framework_info": FRAMEWORK, "task": task}})

    def kill_task(self, task_id: str, **extra: Any) -> None:
        kill = {"framework_id": {"value": "FW1"}, "task_id": {"value": task_id}, **extra}
        self.send({"type": "KILL_TASK", "kill_task": kill})

    # -- observing ----------------------------------------------------------------------------
    @staticmethod
    async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        await eventually(predicate, timeout)

    def calls_of(self, call_type: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["type"] == call_type]

    def updates(self, task_id: str | None = None) -> list[dict[str, Any]]:
        statuses = [c["update"]["status"] for c in self.calls_of("UPDATE")]
        return [s for s in statuses if task_id is None or s["task_id"]["value"] == task_id]

    def states(self, task_id: str) -> list[str]:
        """Distinct states in arrival order (retries collapsed)."""
        out: list[str] = []
        for s in self.updates(task_id):
            if not out or out[-1] != s["state"]:
                out.append(s["state"])
        return out

    async def wait_for_update(self, task_id: str, state: str, timeout: float = 5.0) -> dict:
        await eventually(lambda: any(s["state"] == state for s in self.updates(task_id)), timeout)
        return next(s for s in self.updates(task_id) if s["state"] == state)


async def eventually(
    predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01
) -> None:
    """Wait until ``predicate()`` holds, failing the test after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


def agent_config(**over: Any) -> AgentConfig:
    kw: dict[str, Any] = {
        "ip": "127.0.0.1",
        "port": 0,
        "resources": "cpus:2;mem:1024;disk:2048;gpus:0;ports:[31000-31010]",
        "attributes": "rack:r1;level:2",
        "status_update_retry_min": 0.2,
        "status_update_retry_max": 0.8,
        "reconnect_backoff_min": 0.05,
        "reconnect_backoff_max": 0.2,
        "executor_registration_timeout": 10.0,
        "executor_shutdown_grace_period": 1.0,
        "cgroups": "off",
    }
    kw.update(over)
    return AgentConfig(**kw)


@pytest.fixture
async def master() -> AsyncIterator[FakeMaster]:
    fm = FakeMaster()
    await fm.start()
    yield fm
    await fm.stop()


StartAgent = Callable[..., Awaitable[AgentServer]]


@pytest.fixture
async def start_agent(master: FakeMaster, tmp_path: Path) -> AsyncIterator[StartAgent]:
    started: list[AgentServer] = []

    async def start(register: bool = True, **over: Any) -> AgentServer:
        over.setdefault("master", master.address)
        server = AgentServer(agent_config(work_dir=tmp_path / "agent", **over))
        await server.start()
        started.append(server)
        if register:
            await asyncio.wait_for(server.registered.wait(), 5)
        return server

    yield start
    for server in started:
        await server.stop()


@pytest.fixture
async def agent(start_agent: StartAgent) -> AgentServer:
    return await start_agent()


@pytest.fixture
async def http(agent: AgentServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{agent.port}", timeout=5) as c:
        yield c
