"""io.l5d.marathon against a real roost master, agent and ``roost marathon`` on loopback:
apps with groups, the shortest matching app id, updates pushed from /v2/events, health
filtering and a Marathon outage that keeps the last known endpoints."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path as FilePath
from typing import Any

import pytest

from roost.naming import NEG, BoundName, Dtab, Leaf, Path, bind, mount
from roost.naming.addr import Addr, Bound
from roost.naming.namers.marathon import MarathonError, MarathonNamer
from tests.marathon.conftest import MarathonEnv, eventually, start_env, stop_env

pytestmark = pytest.mark.slow


@pytest.fixture
async def env(tmp_path: FilePath) -> AsyncIterator[MarathonEnv]:
    e = await start_env(tmp_path)
    try:
        yield e
    finally:
        await stop_env(e)


def app(app_id: str, instances: int, **extra: Any) -> dict[str, Any]:
    return {"id": app_id, "cmd": "sleep 300", "cpus": 0.01, "mem": 8, "instances": instances,
            "ports": [0], **extra}  # fmt: skip


async def running(env: MarathonEnv, app_id: str, n: int) -> bool:
    return bool((await env.app(app_id))["tasksRunning"] == n)


def endpoints(addr: Addr) -> int:
    return len(addr.addresses) if isinstance(addr, Bound) else 0


async def test_apps_resolve_to_their_running_tasks_and_follow_scaling(env: MarathonEnv) -> None:
    assert (await env.client.post("/v2/apps", json=app("/prod/web", 2))).status_code == 201
    await eventually(lambda: running(env, "/prod/web", 2), timeout=30)
    namer = MarathonNamer(env.url, ttl=120)  # long: changes must come from the event stream
    try:
        tree = await namer.lookup(Path.read("/Prod/Web/v1/users"))
        assert isinstance(tree, Leaf) and isinstance(tree.value, BoundName)
        name = tree.value
        assert name.id.show == "/#/io.l5d.marathon/prod/web"
        assert name.residual.show == "/v1/users"
        tasks = (await env.app("/prod/web"))["tasks"]
        expected = {f"{t['host']}:{t['ports'][0]}" for t in tasks}
        addr = name.addr.value
        assert isinstance(addr, Bound)
        assert {a.hostport for a in addr.addresses} == expected
        assert await namer.lookup(Path.read("/prod")) is NEG  # a group is not an app
        assert await namer.lookup(Path.read("/nope/web")) is NEG

        rep = await env.client.put("/v2/apps/prod/web", json={"instances": 3})
        assert rep.status_code == 200

        async def three() -> bool:
            return endpoints(name.addr.value) == 3

        await eventually(three, timeout=30)
    finally:
        await namer.aclose()


async def test_health_checks_filter_tasks_when_asked(env: MarathonEnv) -> None:
    failing = {"protocol": "COMMAND", "command": {"value": "false"}, "gracePeriodSeconds": 300,
               "intervalSeconds": 1, "maxConsecutiveFailures": 100}  # fmt: skip
    rep = await env.client.post("/v2/apps", json=app("/sick", 1, healthChecks=[failing]))
    assert rep.status_code == 201
    await eventually(lambda: running(env, "/sick", 1), timeout=30)
    plain = MarathonNamer(env.url, ttl=0.5)
    checked = MarathonNamer(env.url, ttl=0.5, use_health_check=True)
    try:
        assert isinstance(await plain.lookup(Path.read("/sick")), Leaf)

        async def unhealthy() -> bool:
            task = (await env.app("/sick"))["tasks"][0]
            return any(not r["alive"] for r in task.get("healthCheckResults", []))

        await eventually(unhealthy, timeout=30)
        assert await checked.lookup(Path.read("/sick")) is NEG
    finally:
        await plain.aclose()
        await checked.aclose()


async def test_a_marathon_outage_keeps_the_last_known_endpoints(env: MarathonEnv) -> None:
    assert (await env.client.post("/v2/apps", json=app("/web", 1))).status_code == 201
    await eventually(lambda: running(env, "/web", 1), timeout=30)
    namer = MarathonNamer(env.url, ttl=0.2, timeout=1.0)
    try:
        tree = await bind(
            Dtab.read("/svc => /#/io.l5d.marathon"),
            Path.read("/svc/web"),
            namers=[mount("io.l5d.marathon", namer)],
        )
        assert isinstance(tree, Leaf)
        name = tree.value
        assert endpoints(name.addr.value) == 1
        await env.server.stop()  # Marathon goes away
        failures = namer.failures

        async def failed_twice() -> bool:
            return namer.failures >= failures + 2

        await eventually(failed_twice, timeout=10)
        assert endpoints(name.addr.value) == 1  # still routing to what we knew
    finally:
        await namer.aclose()
        await env.restart_marathon()  # the fixture stops it again


async def test_a_first_lookup_without_marathon_is_an_error() -> None:
    namer = MarathonNamer("http://127.0.0.1:9", timeout=0.5)
    with pytest.raises(MarathonError, match=re.escape("GET http://127.0.0.1:9/v2/apps")):
        await namer.lookup(Path.read("/web"))
    await namer.aclose()
