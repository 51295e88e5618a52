"""Fixtures: a real master and agents on loopback (LocalCluster) with a real ``roost marathon``
server in the test's event loop, and an httpx client for its API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from roost.marathon.config import MarathonConfig
from roost.marathon.events import Subscription
from roost.marathon.server import MarathonServer
from roost.testing.local_cluster import LocalCluster


@dataclass
class MarathonEnv:
    cluster: LocalCluster
    server: MarathonServer
    client: httpx.AsyncClient
    tmp: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def restart_marathon(self) -> None:
        await self.server.stop()
        config = self.server.config
        config.port = self.server.port
        self.server = MarathonServer(config)
        await self.server.start()
        await self.server.wait_registered()

    def subscribe(self, *types: str) -> Subscription:
        return self.server.bus.subscribe(set(types) or None)

    async def app(self, app_id: str) -> dict[str, Any]:
        r = await self.client.get(f"/v2/apps{app_id}")
        assert r.status_code == 200, r.text
        app: dict[str, Any] = r.json()["app"]
        return app


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = 20.0, interval: float = 0.1
) -> Any:
    """Poll ``check`` until it returns something truthy (bounded); return that value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


def marathon_config(tmp: Path, master: str) -> MarathonConfig:
    return MarathonConfig(
        master=master,
        store=f"sqlite:///{tmp / 'marathon' / 'marathon.db'}",
        port=0,
        decline_offer_duration=30.0,
    )


async def start_env(tmp: Path, **cluster_options: Any) -> MarathonEnv:
    cluster = LocalCluster(tmp, **cluster_options)
    await cluster.start()
    server = MarathonServer(marathon_config(tmp, cluster.master_address))
    await server.start()
    await server.wait_registered()
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10)
    return MarathonEnv(cluster, server, client, tmp)


async def stop_env(env: MarathonEnv) -> None:
    await env.client.aclose()
    await env.server.stop()
    await env.cluster.stop()


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[MarathonEnv]:
    e = await start_env(tmp_path)
    try:
        yield e
    finally:
        await stop_env(e)


@pytest.fixture
async def env2(tmp_path: Path) -> AsyncIterator[MarathonEnv]:
    """Two agents with different hostnames (127.0.0.1, 127.0.0.2) and a rack attribute."""
    e = await start_env(
        tmp_path,
        agents=2,
        agent_options=[
            {"hostname": "127.0.0.1", "attributes": "rack:r1"},
            {"hostname": "127.0.0.2", "attributes": "rack:r2"},
        ],
    )
    try:
        yield e
    finally:
        await stop_env(e)
