"""An emulated agent: speaks the real agent protocol (``docs/agent-protocol.md``) to a master
but runs no processes. Tasks go RUNNING at once and, if ``task_seconds`` is set, FINISHED
after that long. Thousands fit in one process, which is what the Mesos paper did with its
50,000 emulated agents, and what roost's scale benchmarks and master tests use.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx

from roost import MESOS_COMPAT_VERSION
from roost.core.ids import new_status_uuid
from roost.core.recordio import Decoder
from roost.core.resources import Resources

TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST", "TASK_ERROR"}


class EmulatedAgent:
    def __init__(
        self,
        master: str,
        hostname: str = "127.0.0.1",
        port: int = 5051,
        resources: str = "cpus:4;mem:8192;disk:10000;ports:[31000-32000]",
        attributes: list[dict[str, Any]] | None = None,
        task_seconds: float | None = None,
        answer_pings: bool = True,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.master = master
        self.hostname = hostname
        self.port = port
        self.resources = Resources.parse(resources)
        self.attributes = attributes or []
        self.task_seconds = task_seconds
        self.answer_pings = answer_pings
        self.agent_id: str | None = None
        self.stream_id: str | None = None
        self.tasks: dict[str, dict[str, Any]] = {}  # task_id -> {framework_id, task, status}
        self.pending: dict[str, dict[str, Any]] = {}  # uuid -> update
        self.events: list[dict[str, Any]] = []
        self.subscribed = asyncio.Event()
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(10, read=None))
        self._own_client = client is None
        self._task: asyncio.Task[None] | None = None
        self._timers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.master}/api/v1/agent"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await self.subscribed.wait()

    async def stop(self) -> None:
        """Disappear without a word, like a SIGKILLed agent."""
        for t in [self._task, *self._timers]:
            if t is not None:
                t.cancel()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._own_client:
            await self._client.aclose()

    def subscribe_body(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "hostname": self.hostname,
            "port": self.port,
            "resources": self.resources.to_json(),
            "attributes": self.attributes,
        }
        if self.agent_id:
            info["id"] = {"value": self.agent_id}
        tasks = [
            {"framework_id": t["framework_id"], "task": t["task"], "status": t["status"]}
            for t in self.tasks.values()
            if t["status"]["state"] not in TERMINAL
        ]
        return {
            "type": "SUBSCRIBE",
            "subscribe": {"agent_info": info, "version": MESOS_COMPAT_VERSION, "tasks": tasks},
        }

    async def _run(self) -> None:
        body = self.subscribe_body()
        async with self._client.stream("POST", self.url, json=body) as resp:
            resp.raise_for_status()
            self.stream_id = resp.headers["mesos-stream-id"]
            decoder = Decoder()
            async for chunk in resp.aiter_bytes():
                for record in decoder.feed(chunk):
                    await self._on_event(json.loads(record))

    async def call(self, body: dict[str, Any]) -> int:
        body["agent_id"] = {"value": self.agent_id}
        headers = {"Mesos-Stream-Id": self.stream_id or ""}
        resp = await self._client.post(self.url, json=body, headers=headers)
        return resp.status_code

    async def _on_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        kind = event["type"]
        if kind == "SUBSCRIBED":
            self.agent_id = event["subscribed"]["agent_id"]["value"]
            self.subscribed.set()
            for upd in list(self.pending.values()):
                await self._send_update(upd)
        elif kind == "PING" and self.answer_pings:
            await self.call({"type": "PONG"})
        elif kind == "RUN_TASK":
            run = event["run_task"]
            await self._run_task(run["framework_info"]["id"], run["task"])
        elif kind == "KILL_TASK":
            tid = event["kill_task"]["task_id"]["value"]
            if tid in self.tasks:
                await self.update(tid, "TASK_KILLED")
        elif kind == "ACKNOWLEDGE":
            self.pending.pop(event["acknowledge"]["uuid"], None)

    async def _run_task(self, framework_id: dict[str, str], task: dict[str, Any]) -> None:
        tid = task["task_id"]["value"]
        self.tasks[tid] = {
            "framework_id": framework_id,
            "task": task,
            "status": {"state": "TASK_STAGING"},
        }
        await self.update(tid, "TASK_RUNNING")
        if self.task_seconds is not None:
            timer = asyncio.create_task(self._finish_later(tid, self.task_seconds))
            self._timers.add(timer)
            timer.add_done_callback(self._timers.discard)

    async def _finish_later(self, tid: str, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.update(tid, "TASK_FINISHED")

    async def update(self, task_id: str, state: str, message: str = "") -> None:
        entry = self.tasks[task_id]
        status: dict[str, Any] = {
            "task_id": {"value": task_id},
            "state": state,
            "source": "SOURCE_EXECUTOR",
            "agent_id": {"value": self.agent_id},
            "executor_id": {"value": task_id},
            "uuid": new_status_uuid(),
            "timestamp": asyncio.get_running_loop().time(),
        }
        if message:
            status["message"] = message
        entry["status"] = status
        upd = {"framework_id": entry["framework_id"], "status": status}
        self.pending[status["uuid"]] = upd
        await self._send_update(upd)

    async def _send_update(self, upd: dict[str, Any]) -> None:
        with contextlib.suppress(httpx.HTTPError):
            await self.call({"type": "UPDATE", "update": upd})
