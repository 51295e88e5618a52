"""Regression tests for the orchestration review: each test names the failure it guards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from roost.marathon.api.app import create_app
from roost.marathon.api.base import MarathonContext
from roost.marathon.appdef import AppValidationError
from roost.marathon.deployment import build_plan
from roost.marathon.errors import AppLocked
from roost.marathon.framework import MarathonScheduler
from roost.marathon.placement import ServicePortAllocator
from roost.marathon.repository import Repository
from tests.marathon.test_orchestrator_unit import (  # noqa: F401  (h is a fixture)
    Harness,
    h,
    new_orchestrator,
    running_app,
    settle,
    web,
)


@pytest.fixture
async def api(h: Harness) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    context = MarathonContext(
        orc=h.orc, ops=h.ops, bus=h.bus, hostname="127.0.0.1", http_port=8080, master="m:5050"
    )
    transport = httpx.ASGITransport(app=create_app(context))
    async with httpx.AsyncClient(transport=transport, base_url="http://marathon") as client:
        yield client


def body(app_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": app_id, "cmd": "sleep 100", "cpus": 0.1, "mem": 16, **extra}


async def test_adding_health_checks_does_not_kill_old_instances_of_unknown_health(
    h: Harness,  # noqa: F811
) -> None:
    await running_app(h, 3)
    check = [{"protocol": "HTTP", "path": "/", "portIndex": 0}]
    await h.deploy(web(3, healthChecks=check))
    await h.tick()
    assert h.cluster.killed == set()  # {1, 1}: the floor of 3 holds until new ones are healthy
    assert h.orc.queue.count("/web") == 3


async def test_ids_with_dot_segments_are_canonical(api: httpx.AsyncClient, h: Harness) -> None:  # noqa: F811
    r = await api.put("/v2/apps/a/./b", json={"cmd": "sleep 1"})
    assert r.status_code == 201, r.text
    assert set(h.orc.state.apps) == {"/a/b"}
    assert (await api.get("/v2/apps/a/b")).status_code == 200


async def test_group_put_replaces_only_the_apps_of_the_named_group(
    api: httpx.AsyncClient,
    h: Harness,  # noqa: F811
) -> None:
    for app_id in ("/g/a", "/g/old", "/g/sub/c", "/other"):
        assert (await api.post("/v2/apps", json=body(app_id))).status_code == 201
    r = await api.put("/v2/groups/g?force=true", json={"apps": [body("a")]})
    assert r.status_code == 200, r.text
    assert set(h.orc.state.apps) == {"/g/a", "/g/sub/c", "/other"}
    r = await api.put("/v2/groups?force=true", json={"id": "/g", "apps": [body("a")]})
    assert r.status_code == 200, r.text
    assert "/other" in h.orc.state.apps


async def test_a_dry_run_or_a_refused_change_stores_no_group(
    api: httpx.AsyncClient,
    h: Harness,  # noqa: F811
) -> None:
    r = await api.put("/v2/groups/dry?dryRun=true", json={"apps": [body("x")]})
    assert r.status_code == 200 and "steps" in r.json()
    assert (await api.get("/v2/groups/dry")).status_code == 404
    assert (await Repository(h.store).load()).groups == []


async def test_apps_created_together_get_different_service_ports(h: Harness) -> None:  # noqa: F811
    a, b = web(1, id="/a"), web(1, id="/b")
    await h.ops.change_apps({"/a": a, "/b": b}, force=False)
    ports = [h.orc.state.apps[x].port_definitions[0].port for x in ("/a", "/b")]
    assert len(set(ports)) == 2 and all(10000 <= p < 20000 for p in ports)


async def test_exhausted_service_ports_are_a_422_and_cancel_nothing(h: Harness) -> None:  # noqa: F811
    h.ops.ports = ServicePortAllocator(10000, 10001)
    holder = await h.deploy(web(1, id="/a"))
    with pytest.raises(AppValidationError) as e:
        await h.ops.change_apps(
            {"/a": web(1, id="/a", cmd="other"), "/b": web(1, id="/b")}, force=True
        )
    assert e.value.status == 422
    assert holder.id in h.orc.deployments  # the running deployment was not cancelled


async def test_a_stored_plan_is_the_intent_after_a_crash(h: Harness) -> None:  # noqa: F811
    app = web(2, id="/late").model_copy(update={"version": "2026-01-01T00:00:00.000Z"})
    plan = build_plan("p1", "2026-01-01T00:00:00.000Z", {"/late": None}, {"/late": app})
    await Repository(h.store).put_deployment(plan.to_record())  # the app itself never stored
    orc, _ = await new_orchestrator(h.store, h.clock, h.bus)
    assert orc.state.apps["/late"].instances == 2
    assert orc.locks == {"/late": "p1"}
    assert "/late" in [a["id"] for a in (await Repository(h.store).load()).apps]


async def test_an_unreadable_stored_deployment_does_not_stop_loading(h: Harness) -> None:  # noqa: F811
    await h.deploy(web(1))
    await Repository(h.store).put_deployment({"id": "broken", "version": "x", "steps": "nope"})
    orc, _ = await new_orchestrator(h.store, h.clock, h.bus)
    assert "/web" in orc.state.apps and "broken" not in orc.deployments


async def test_a_deleted_app_forgets_its_last_task_failure(h: Harness) -> None:  # noqa: F811
    (task_id,) = await running_app(h, 1)
    await h.status(task_id, "TASK_FAILED")
    assert "/web" in h.orc.state.last_failure
    await h.delete("/web")
    assert "/web" not in h.orc.state.last_failure


async def test_a_refused_launch_drops_the_instance_and_delays_the_app(h: Harness) -> None:  # noqa: F811
    from tests.marathon.placement import offer

    await h.deploy(web(1))
    result = await h.launch(offer("h1"))
    (info,) = result.launches["offer-h1"]
    await h.orc.launch_failed([info["task_id"]["value"]], "refused")
    assert h.orc.state.instances == {}
    assert h.delay() >= 1.0  # not straight back into a revive loop


async def test_kill_with_scale_on_a_locked_app_kills_nothing(h: Harness) -> None:  # noqa: F811
    ids = await running_app(h, 2)
    await h.deploy(web(2, cmd="changed"))  # a restart holds the app now
    with pytest.raises(AppLocked):
        await h.ops.kill_tasks(ids[:1], scale=True, force=False)
    await settle()
    assert h.cluster.killed == set()


class FakeDriver:
    subscribed = True

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def revive(self) -> None:
        await asyncio.sleep(0.01)
        self.calls.append("REVIVE")

    async def suppress(self) -> None:
        await asyncio.sleep(0.01)
        self.calls.append("SUPPRESS")


async def test_offer_interest_calls_go_out_in_order_and_the_last_wish_wins(
    h: Harness,  # noqa: F811
) -> None:
    sched = MarathonScheduler(h.orc)
    driver = FakeDriver()
    sched.driver = driver  # type: ignore[assignment]
    sched.want_offers(False, revive=False)
    sched.want_offers(True, revive=True)
    sched.want_offers(False, revive=False)
    sched.want_offers(True, revive=True)
    for _ in range(50):
        await asyncio.sleep(0.01)
        if driver.calls and driver.calls[-1] == "REVIVE":
            break
    assert driver.calls[-1] == "REVIVE"
    await sched.aclose()
