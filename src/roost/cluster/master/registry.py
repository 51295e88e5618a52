"""The master's durable registry: which agents and frameworks exist (Mesos' registrar).

Only membership is durable: one write per agent registration or removal and per framework
subscription or teardown, never per offer or status update. Tasks are not stored: after a
restart the master learns them again from the re-registering agents, as Mesos does.

Layout under the store prefix (default ``/roost/master``)::

    /agents/<agent_id>          {"info": AgentInfo, "registered_time": ..., "unreachable_time"?}
    /frameworks/<framework_id>  {"info": FrameworkInfo, "registered_time": ...}
    /completed/<framework_id>   {"info": ..., "unregistered_time": ...}   (torn down)
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from roost.coord.store import Store

log = logging.getLogger(__name__)


class Registry:
    def __init__(self, store: Store, prefix: str = "/roost/master") -> None:
        self._store = store
        self._prefix = prefix.rstrip("/")
        self.writes = 0
        self.last_write_ms = 0.0

    async def _put(self, key: str, value: dict[str, Any]) -> None:
        t0 = time.perf_counter()
        await self._store.put(f"{self._prefix}/{key}", json.dumps(value).encode())
        self.writes += 1
        self.last_write_ms = (time.perf_counter() - t0) * 1000

    async def _delete(self, key: str) -> None:
        from roost.coord.errors import NoNodeError

        try:
            await self._store.delete(f"{self._prefix}/{key}")
        except NoNodeError:
            pass

    async def _load(self, folder: str) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name in await self._store.list(f"{self._prefix}/{folder}"):
            got = await self._store.get(f"{self._prefix}/{folder}/{name}")
            if got is None:
                continue
            try:
                value = json.loads(got[0])
            except ValueError:
                log.warning("ignoring corrupt registry entry %s/%s", folder, name)
                continue
            if isinstance(value, dict):
                out[name] = value
        return out

    async def agents(self) -> dict[str, dict[str, Any]]:
        return await self._load("agents")

    async def frameworks(self) -> dict[str, dict[str, Any]]:
        return await self._load("frameworks")

    async def completed_frameworks(self) -> dict[str, dict[str, Any]]:
        return await self._load("completed")

    async def add_agent(self, agent_id: str, info: dict[str, Any], registered: float) -> None:
        await self._put(f"agents/{agent_id}", {"info": info, "registered_time": registered})

    async def mark_unreachable(
        self, agent_id: str, info: dict[str, Any], registered: float, when: float
    ) -> None:
        """Unreachable agents stay in the registry (they may come back) with the time they
        went away, so a restarted master does not wait for them to re-register again."""
        value = {"info": info, "registered_time": registered, "unreachable_time": when}
        await self._put(f"agents/{agent_id}", value)

    async def remove_agent(self, agent_id: str) -> None:
        await self._delete(f"agents/{agent_id}")

    async def add_framework(
        self, framework_id: str, info: dict[str, Any], registered: float
    ) -> None:
        await self._put(f"frameworks/{framework_id}", {"info": info, "registered_time": registered})

    async def complete_framework(
        self, framework_id: str, info: dict[str, Any], when: float
    ) -> None:
        await self._put(f"completed/{framework_id}", {"info": info, "unregistered_time": when})
        await self._delete(f"frameworks/{framework_id}")
