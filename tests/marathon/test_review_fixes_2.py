"""Regression tests for the second orchestration review: each test names what it guards."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from roost.core.clock import ManualClock
from roost.marathon.config import MarathonConfig
from roost.marathon.deployment import build_plan
from roost.marathon.framework import MarathonScheduler
from roost.marathon.kills import RETRY_SECONDS
from roost.marathon.operations import Operations
from roost.marathon.orchestrator import TASK_LAUNCH_TIMEOUT
from roost.marathon.repository import Repository
from roost.marathon.server import MarathonServer
from roost.marathon.timestamps import parse_ts
from tests.marathon.placement import offer
from tests.marathon.test_orchestrator_unit import (  # noqa: F401  (h is a fixture)
    Harness,
    h,
    new_orchestrator,
    running_app,
    settle,
    web,
)
from tests.marathon.test_review_fixes import api  # noqa: F401  (a fixture)

# -- restart: the intent log and versions ----------------------------------------------------


async def test_a_stored_plan_never_overwrites_a_newer_stored_app(h: Harness) -> None:  # noqa: F811
    old = web(2).model_copy(update={"version": "2020-01-01T00:00:00.000Z"})
    plan = build_plan("p-old", "2020-01-01T00:00:00.000Z", {"/web": None}, {"/web": old})
    await running_app(h, 1)  # stored with today's (later) version, its deployment done
    await Repository(h.store).put_deployment(plan.to_record())
    orc, _ = await new_orchestrator(h.store, h.clock, h.bus)
    try:
        assert orc.state.apps["/web"].instances == 1
    finally:
        await orc.stop()


async def test_after_a_restart_a_new_version_is_later_than_every_stored_one(h: Harness) -> None:  # noqa: F811
    first = await h.deploy(web(1))
    behind = ManualClock(wall=h.clock.time() - 3600.0)  # the new process's clock is behind
    orc, _ = await new_orchestrator(h.store, behind, h.bus)
    try:
        second = await Operations(orc).change_apps({"/web": web(2)}, force=True)
        assert parse_ts(second.version) > parse_ts(first.version)
        assert parse_ts(orc.state.apps["/web"].version or "") > parse_ts(first.version)
    finally:
        await orc.stop()


async def test_an_old_instance_keeps_its_own_versions_checks_after_a_restart(h: Harness) -> None:  # noqa: F811
    (old_task,) = await running_app(h, 1)  # launched without health checks
    await h.deploy(web(1, healthChecks=[{"protocol": "MESOS_TCP"}]))  # a rolling restart
    await h.launch(offer("h9", cpus=1))
    (new_task,) = await h.run_all()
    orc, _ = await new_orchestrator(h.store, h.clock, h.bus)
    try:
        assert orc.health.results(old_task) == []  # not judged by checks it never had
        assert len(orc.health.results(new_task)) == 1
        assert orc.health.healthy(old_task) is None
    finally:
        await orc.stop()


# -- kills -----------------------------------------------------------------------------------


async def test_a_kill_refused_while_the_master_is_away_waits_before_it_is_resent(
    h: Harness,  # noqa: F811
) -> None:
    (task_id,) = await running_app(h, 1)
    h.cluster.unreachable = True
    await h.delete("/web")
    for _ in range(20):  # many rounds inside the retry interval
        h.clock.advance(0.1)
        await h.tick()
    assert h.orc.kills.failed_total == 1
    h.cluster.unreachable = False
    h.clock.advance(RETRY_SECONDS)
    await h.tick()
    assert h.cluster.killed == {task_id}


async def test_kill_records_of_tasks_that_are_gone_are_dropped(h: Harness) -> None:  # noqa: F811
    ids = await running_app(h, 2)
    await h.ops.kill_tasks(ids, scale=False, force=False)
    for task_id in ids:  # gone before the KILL calls even went out
        await h.status(task_id, "TASK_KILLED")
    await settle()
    assert h.cluster.killed == set(ids)
    await h.tick()
    assert h.orc.kills._sent.keys().isdisjoint(ids)


async def test_killing_the_same_task_twice_with_scale_scales_down_once(h: Harness) -> None:  # noqa: F811
    ids = await running_app(h, 3)
    await h.ops.kill_tasks([ids[0], ids[0]], scale=True, force=False)
    assert h.orc.state.apps["/web"].instances == 2
    await h.tick()
    await h.ops.kill_tasks([ids[0]], scale=True, force=True)  # still on its way out
    assert h.orc.state.apps["/web"].instances == 2


# -- launching -------------------------------------------------------------------------------


async def test_a_refused_launch_of_several_instances_delays_their_app_once(
    h: Harness,  # noqa: F811
) -> None:
    await h.deploy(web(3))
    result = await h.launch(offer("h1", cpus=3))
    (infos,) = result.launches.values()
    assert len(infos) == 3
    await h.orc.launch_failed([i["task_id"]["value"] for i in infos], "refused")
    assert h.orc.state.instances == {}
    assert h.delay() == pytest.approx(1.0)  # backoffSeconds, not 1.15^2


async def test_a_task_stuck_in_starting_is_killed_after_the_launch_timeout(h: Harness) -> None:  # noqa: F811
    await h.deploy(web(1))
    await h.launch(offer("h1"))
    (task_id,) = h.orc.state.instances
    await h.status(task_id, "TASK_STARTING")
    h.clock.advance(TASK_LAUNCH_TIMEOUT - 1)
    await h.tick()
    assert h.cluster.killed == set()
    h.clock.advance(2)
    await h.tick()
    assert h.cluster.killed == {task_id}


# -- the framework and the server -------------------------------------------------------------


async def test_a_closed_scheduler_sends_no_more_offer_interest(h: Harness) -> None:  # noqa: F811
    scheduler = MarathonScheduler(h.orc)
    await scheduler.aclose()
    scheduler.want_offers(True, revive=True)
    assert scheduler._interest is None


class EndedDriver:
    last_error = "SUBSCRIBE refused: 403 role '*' is not allowed"

    async def join(self) -> None:
        return None


async def test_a_driver_the_master_ended_makes_marathon_fail_with_the_reason(
    h: Harness,  # noqa: F811
) -> None:
    server = MarathonServer(MarathonConfig(master="127.0.0.1:1"))
    server.orc = h.orc
    server.scheduler = MarathonScheduler(h.orc)
    server.driver = EndedDriver()  # type: ignore[assignment]
    await server._watch_driver()
    error = await asyncio.wait_for(server.wait_fatal(), 1)
    assert "403 role '*' is not allowed" in error


# -- the store failing after a change was committed -------------------------------------------


async def test_an_app_record_that_failed_to_save_is_saved_on_a_later_round(
    h: Harness,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_put = h.store.put
    failing = {"on": True}

    async def flaky_put(key: str, value: bytes, expected_version: int | None = None) -> int:
        if failing["on"] and "/apps/" in key:
            raise ConnectionError("store away")
        return await real_put(key, value, expected_version)

    monkeypatch.setattr(h.store, "put", flaky_put)
    plan = await h.deploy(web(2))  # the plan (the intent) is stored: the change stands
    assert h.orc.state.apps["/web"].instances == 2
    assert plan.id in h.orc.deployments
    assert "/web" not in [a["id"] for a in (await Repository(h.store).load()).apps]
    failing["on"] = False
    await h.tick()
    assert h.orc.unsaved == {}
    stored = (await Repository(h.store).load()).apps
    assert [(a["id"], a["instances"]) for a in stored] == [("/web", 2)]


async def test_a_rollback_deployment_is_stored_with_what_it_rolls_back(h: Harness) -> None:  # noqa: F811
    plan = await h.deploy(web(2))
    rollback = await h.ops.cancel_deployment(plan.id, force=False)
    assert rollback is not None
    (stored,) = (await Repository(h.store).load()).deployments
    assert stored["rollbackOf"] == plan.id


# -- health ----------------------------------------------------------------------------------


async def test_a_task_failing_its_checks_from_the_start_counts_as_unhealthy(h: Harness) -> None:  # noqa: F811
    from roost.marathon.api.render import counts

    sub = h.bus.subscribe({"health_status_changed_event"})
    app = web(1, healthChecks=[{"protocol": "MESOS_TCP", "gracePeriodSeconds": 0}])
    await h.deploy(app)
    await h.launch(offer("h1"))
    (task_id,) = await h.run_all()
    await h.status(task_id, "TASK_RUNNING", healthy=False)
    assert h.orc.state.instances[task_id].healthy is False
    assert counts(h.orc, h.orc.state.apps["/web"])["tasksUnhealthy"] == 1
    await h.status(task_id, "TASK_RUNNING", healthy=True)
    assert counts(h.orc, h.orc.state.apps["/web"])["tasksHealthy"] == 1
    events = [await anext(sub) for _ in range(sub.pending)]
    assert [e["alive"] for e in events] == [True]  # never alive before: no event for False


# -- groups ----------------------------------------------------------------------------------


async def test_two_concurrent_creates_of_one_group_give_one_201_and_one_409(
    api: httpx.AsyncClient,  # noqa: F811
    h: Harness,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_put = h.store.put

    async def slow_put(key: str, value: bytes, expected_version: int | None = None) -> int:
        await asyncio.sleep(0.01)  # a real store's round trip: requests interleave
        return await real_put(key, value, expected_version)

    monkeypatch.setattr(h.store, "put", slow_put)

    def body(cmd: str) -> dict[str, object]:
        return {"id": "/g", "apps": [{"id": "a", "cmd": cmd, "cpus": 0.1, "mem": 16}]}

    first, second = await asyncio.gather(
        api.post("/v2/groups?force=true", json=body("sleep 1")),
        api.post("/v2/groups?force=true", json=body("sleep 2")),
    )
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    winner = body("sleep 1" if first.status_code == 201 else "sleep 2")
    app = (await api.get("/v2/apps/g/a")).json()["app"]
    assert app["cmd"] == winner["apps"][0]["cmd"]  # type: ignore[index]
