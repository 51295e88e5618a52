"""Readiness checks (``types/readinessCheck.raml``): during a deployment a new instance counts
as *ready* only once an HTTP(S) GET of ``path`` on the port named ``portName`` answers with
one of ``httpStatusCodesForReady``. Probed every ``intervalSeconds`` until it passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import httpx

from roost.core.clock import Clock
from roost.core.logs import kv
from roost.marathon.appdef import AppDefinition
from roost.marathon.appdef.checks import port_names
from roost.marathon.instances import Instance

log = logging.getLogger(__name__)


def readiness_port(app: AppDefinition, inst: Instance) -> int | None:
    """The host port of the port named ``portName`` (definitions or container mappings)."""
    check = app.readiness_checks[0]
    for name, port in zip(port_names(app), inst.host_ports, strict=False):
        if name == check.port_name:
            return port
    return None


class ReadinessMonitor:
    def __init__(self, *, clock: Clock, on_ready: Callable[[str], Awaitable[None]]) -> None:
        self.clock = clock
        self.on_ready = on_ready
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.last_results: dict[str, dict[str, object]] = {}

    def track(self, inst: Instance, app: AppDefinition) -> None:
        if not app.readiness_checks or inst.task_id in self._tasks:
            return
        self._tasks[inst.task_id] = asyncio.create_task(self._probe_loop(inst, app))

    def untrack(self, task_id: str) -> None:
        task = self._tasks.pop(task_id, None)
        if task is not None:
            task.cancel()
        self.last_results.pop(task_id, None)

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    async def _probe_loop(self, inst: Instance, app: AppDefinition) -> None:
        check = app.readiness_checks[0]
        port = readiness_port(app, inst)
        if port is None:  # no such port on this instance: it can never be probed
            self.last_results[inst.task_id] = {
                "name": check.name,
                "taskId": inst.task_id,
                "ready": False,
                "lastResponse": None,
            }
            log.warning("readiness check names no port of the task", extra=kv(task=inst.task_id))
            return
        scheme = "https" if check.protocol == "HTTPS" else "http"
        url = f"{scheme}://{inst.host}:{port}{check.path}"
        async with httpx.AsyncClient(verify=False, timeout=check.timeout_seconds) as client:
            while True:
                ready = False
                try:
                    r = await client.get(url)
                    ready = r.status_code in check.http_status_codes_for_ready
                    self.last_results[inst.task_id] = {
                        "name": check.name,
                        "taskId": inst.task_id,
                        "ready": ready,
                        "lastResponse": {"status": r.status_code},
                    }
                except Exception as e:  # any failure is "not ready yet", never the end of the loop
                    log.debug("readiness probe failed: %s", e)
                if ready:
                    self._tasks.pop(inst.task_id, None)
                    await self.on_ready(inst.task_id)
                    return
                await asyncio.sleep(check.interval_seconds)
