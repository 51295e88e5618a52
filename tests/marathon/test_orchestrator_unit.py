"""The orchestrator without a master: API operations, offer matching, status updates, rounds.

``Orchestrator`` + ``Operations`` run on a ``MemoryStore`` with a ``ManualClock`` and a fake
:class:`~roost.marathon.orchestrator.ClusterPort` that records kills and offer interest;
each round is one ``await orc.tick()`` (the loop itself is never started). Where kills go
out through a background sender (``roost.marathon.kills``), it runs and ``Harness.tick``
lets it deliver them before the test looks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from roost.coord.memory import MemoryStore
from roost.core.clock import ManualClock
from roost.marathon.appdef import AppDefinition, parse_app
from roost.marathon.deployment import DeploymentPlan
from roost.marathon.deployment.plan import SCALE, STOP
from roost.marathon.emit import Emitter
from roost.marathon.errors import AppLocked
from roost.marathon.events import EventBus, Subscription
from roost.marathon.matching import MatchResult, match_offers
from roost.marathon.operations import Operations
from roost.marathon.orchestrator import Orchestrator
from roost.marathon.repository import Repository
from roost.marathon.status import apply_status
from roost.marathon.timestamps import format_ts
from tests.marathon.placement import offer


@dataclass
class FakeCluster:
    """The cluster port: remembers the kills and the (wanted, revive) offer-interest calls."""

    kills: list[tuple[str, str]] = field(default_factory=list)
    interest: list[tuple[bool, bool]] = field(default_factory=list)
    unreachable: bool = False
    """Kills raise (the master cannot be reached) and are not recorded."""

    async def kill(self, task_id: str, agent_id: str) -> None:
        if self.unreachable:
            raise ConnectionError("master unreachable")
        self.kills.append((task_id, agent_id))

    def want_offers(self, wanted: bool, *, revive: bool) -> None:
        self.interest.append((wanted, revive))

    @property
    def killed(self) -> set[str]:
        return {t for t, _ in self.kills}


@dataclass
class Harness:
    clock: ManualClock
    store: MemoryStore
    bus: EventBus
    cluster: FakeCluster
    orc: Orchestrator
    ops: Operations

    async def deploy(self, app: AppDefinition, *, force: bool = False) -> DeploymentPlan:
        return await self.ops.change_apps({app.id: app}, force=force)

    async def delete(self, app_id: str) -> DeploymentPlan:
        return await self.ops.change_apps({app_id: None}, force=False)

    async def tick(self) -> None:
        """One round; then background kill calls (if any) reach the fake cluster."""
        await self.orc.tick()
        await settle()

    async def launch(self, *offers: dict[str, Any]) -> MatchResult:
        """One round, then the offers go to the matcher (as the framework hands them over)."""
        await self.tick()
        return await match_offers(self.orc, list(offers))

    async def status(self, task_id: str, state: str, **extra: Any) -> None:
        status = {"task_id": {"value": task_id}, "state": state, **extra}
        status.setdefault("agent_id", {"value": "agent-h1"})
        await apply_status(self.orc, status)

    async def run_all(self) -> list[str]:
        """Every instance not running yet reports TASK_RUNNING; returns their task ids."""
        ids = [i.task_id for i in self.orc.state.instances.values() if not i.running]
        for task_id in ids:
            await self.status(task_id, "TASK_RUNNING")
        return ids

    async def stored_instances(self) -> dict[str, str]:
        return {i.task_id: i.state for i in (await Repository(self.store).load()).instances}

    def delay(self) -> float:
        return self.orc.queue.remaining("/web", self.orc.now())


async def settle() -> None:
    """Yield to the event loop until background work queued so far has run (no timing)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def new_orchestrator(
    store: MemoryStore, clock: ManualClock, bus: EventBus
) -> tuple[Orchestrator, FakeCluster]:
    emit = Emitter(bus, lambda: format_ts(clock.time()))
    orc = Orchestrator(Repository(store), emit, clock=clock)
    await orc.load()
    orc.cluster = cluster = FakeCluster()
    orc.kills.start()  # kills go out from a background sender
    return orc, cluster


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    clock, store, bus = ManualClock(), MemoryStore(), EventBus()
    orc, cluster = await new_orchestrator(store, clock, bus)
    yield Harness(clock, store, bus, cluster, orc, Operations(orc))
    await orc.stop()
    bus.close()
    await store.close()


def web(instances: int = 1, **body: Any) -> AppDefinition:
    body = {"id": "/web", "cmd": "sleep 100", "cpus": 1, "mem": 64, **body}
    return parse_app({"instances": instances, **body})


async def drained(sub: Subscription) -> list[dict[str, Any]]:
    """The events ``sub`` has received so far (without waiting for more)."""
    return [await anext(sub) for _ in range(sub.pending)]


def actions(plan: DeploymentPlan) -> list[list[str]]:
    return [[a.action for a in step] for step in plan.steps]


async def running_app(h: Harness, n: int, **body: Any) -> list[str]:
    """``/web`` with ``n`` RUNNING instances, each launched a second after the previous one,
    and its deployment finished; returns the task ids, oldest first."""
    await h.deploy(web(n, **body))
    for i in range(n):
        h.clock.advance(1.0)
        await h.launch(offer(f"h{i}", cpus=1))
    ids = sorted(h.orc.state.instances, key=lambda t: h.orc.state.instances[t].staged_at)
    await h.run_all()
    await h.tick()
    assert h.orc.deployments == {}
    return ids


# -- creating and launching -------------------------------------------------------------------


async def test_creating_an_app_queues_its_instances_and_revives_offers(h: Harness) -> None:
    plan = await h.deploy(web(3))
    await h.tick()
    assert h.orc.queue.count("/web") == 3
    assert h.orc.locks == {"/web": plan.id}
    assert plan.current_step == 1  # StartApplication is done at once; ScaleApplication waits
    assert h.cluster.interest == [(True, True)]


async def test_matching_an_offer_places_instances_and_returns_task_infos(h: Harness) -> None:
    await h.deploy(web(2, id="/prod/web", cpus=0.5, env={"A": "b"}))
    result = await h.launch(offer("h1", cpus=4, ports=[(31000, 31001)]))
    infos, insts = result.launches["offer-h1"], h.orc.state.instances
    assert sorted(i["task_id"]["value"] for i in infos) == sorted(insts)
    assert h.orc.queue.count("/prod/web") == 0
    ports = []
    for info in infos:
        inst = insts[info["task_id"]["value"]]
        assert (info["name"], info["agent_id"]) == ("web.prod", {"value": "agent-h1"})
        env = {v["name"]: v["value"] for v in info["command"]["environment"]["variables"]}
        assert (env["A"], env["MARATHON_APP_ID"], env["HOST"]) == ("b", "/prod/web", "h1")
        assert (env["MESOS_TASK_ID"], env["PORT0"]) == (inst.task_id, str(inst.host_ports[0]))
        assert [p["number"] for p in info["discovery"]["ports"]["ports"]] == inst.host_ports
        assert (inst.state, inst.host, inst.agent_id) == ("TASK_STAGING", "h1", "agent-h1")
        ports += inst.host_ports
    assert sorted(ports) == [31000, 31001]
    assert await h.stored_instances() == dict.fromkeys(insts, "TASK_STAGING")


async def test_an_offer_too_small_is_unused_and_the_instances_stay_queued(h: Harness) -> None:
    await h.deploy(web(2))
    result = await h.launch(offer("h1", cpus=0.5))
    assert result.unused() == ["offer-h1"]
    assert h.orc.queue.count("/web") == 2
    assert h.orc.queue.entries["/web"].stats.launch_attempt == {"InsufficientCpus": 1}


# -- status updates ---------------------------------------------------------------------------


async def test_running_is_stored_with_its_start_time_and_finished_is_expunged(h: Harness) -> None:
    await h.deploy(web(1))
    await h.launch(offer("h1"))
    (task_id,) = h.orc.state.instances
    h.clock.advance(3.0)
    await h.status(task_id, "TASK_RUNNING")
    inst = h.orc.state.instances[task_id]
    assert (inst.state, inst.started_at) == ("TASK_RUNNING", h.clock.time())
    assert await h.stored_instances() == {task_id: "TASK_RUNNING"}
    await h.status(task_id, "TASK_FINISHED")
    assert (h.orc.state.instances, await h.stored_instances()) == ({}, {})


@pytest.mark.parametrize(
    ("state", "delayed", "failure"),
    [
        ("TASK_FAILED", True, True),
        ("TASK_ERROR", True, True),
        ("TASK_FINISHED", True, None),  # whether upstream records it is not pinned down here
        ("TASK_LOST", False, True),
        ("TASK_KILLED", False, False),
    ],
)
async def test_terminal_states_set_the_launch_delay_and_last_task_failure(
    h: Harness, state: str, delayed: bool, failure: bool | None
) -> None:
    (task_id,) = await running_app(h, 1, backoffSeconds=7)
    await h.status(task_id, state, message="exit 3")
    assert h.orc.state.instances == {}
    assert h.delay() == (7.0 if delayed else 0.0)
    recorded = h.orc.state.last_failure.get("/web")
    if failure is not None:
        assert (recorded is not None) is failure
    if failure:
        assert recorded is not None
        assert (recorded["taskId"], recorded["state"]) == (task_id, state)
        assert (recorded["message"], recorded["host"]) == ("exit 3", "h0")
        assert recorded["version"] == h.orc.state.apps["/web"].version


async def test_a_task_marathon_killed_never_delays_the_next_launch(h: Harness) -> None:
    (task_id,) = await running_app(h, 1)
    await h.orc.kill_instance(task_id)
    await settle()
    await h.status(task_id, "TASK_FAILED")
    assert h.delay() == 0.0


async def test_a_replacement_for_a_failed_task_waits_for_the_delay(h: Harness) -> None:
    (task_id,) = await running_app(h, 1)
    await h.status(task_id, "TASK_FAILED")
    assert (await h.launch(offer("h9"))).launches == {}
    assert h.orc.queue.count("/web") == 1
    h.clock.advance(1.0)
    assert len((await h.launch(offer("h9"))).launches["offer-h9"]) == 1


async def test_a_new_version_resets_the_launch_delay_and_a_scale_does_not(h: Harness) -> None:
    (task_id,) = await running_app(h, 1, backoffSeconds=60)
    await h.status(task_id, "TASK_FAILED")
    await h.deploy(web(2, backoffSeconds=60))
    assert h.delay() == 60.0
    await h.deploy(web(2, backoffSeconds=60, cmd="sleep 5"), force=True)
    assert h.delay() == 0.0


@pytest.mark.parametrize(
    ("state", "agent", "killed"),
    [
        ("TASK_RUNNING", "agent-x", [("web.ghost", "agent-x")]),
        ("TASK_STAGING", "agent-x", [("web.ghost", "agent-x")]),
        ("TASK_FAILED", "agent-x", []),
        ("TASK_RUNNING", None, []),
    ],
)
async def test_an_update_for_an_unknown_live_task_is_answered_with_a_kill(
    h: Harness, state: str, agent: str | None, killed: list[tuple[str, str]]
) -> None:
    await h.status("web.ghost", state, agent_id={"value": agent} if agent else None)
    await settle()  # the kill goes out from the background sender
    assert h.cluster.kills == killed
    assert h.orc.state.instances == {}


async def test_a_mesos_health_result_lets_the_deployment_finish(h: Harness) -> None:
    await h.deploy(web(1, healthChecks=[{"protocol": "MESOS_TCP"}]))
    await h.launch(offer("h1"))
    (task_id,) = await h.run_all()
    await h.tick()
    assert len(h.orc.deployments) == 1  # running, but not yet healthy
    await h.status(task_id, "TASK_RUNNING", healthy=True)
    assert h.orc.state.instances[task_id].healthy is True
    await h.tick()
    assert h.orc.deployments == {}


# -- scaling, restarting and deleting ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kill_selection", "victims"), [("YOUNGEST_FIRST", [2, 1]), ("OLDEST_FIRST", [0, 1])]
)
async def test_scaling_down_kills_by_kill_selection(
    h: Harness, kill_selection: str, victims: list[int]
) -> None:
    ids = await running_app(h, 3, killSelection=kill_selection)
    plan = await h.deploy(web(1, killSelection=kill_selection))
    assert actions(plan) == [[SCALE]]
    await h.tick()
    assert h.cluster.killed == {ids[i] for i in victims}
    assert all(h.orc.state.instances[ids[i]].killing for i in victims)
    for i in victims:
        await h.status(ids[i], "TASK_KILLED")
    await h.tick()
    assert h.orc.deployments == {}
    assert list(h.orc.state.instances) == [t for i, t in enumerate(ids) if i not in victims]


async def test_a_config_change_replaces_every_instance(h: Harness) -> None:
    old = await running_app(h, 2)
    await h.deploy(web(2, cmd="sleep 5"))
    await h.launch(offer("h8", cpus=4))
    assert h.cluster.kills == []  # {1, 1}: new instances start beside the old ones
    assert len(h.orc.state.instances) == 4
    await h.run_all()
    await h.tick()
    assert h.cluster.killed == set(old)
    for task_id in old:
        await h.status(task_id, "TASK_KILLED")
    await h.tick()
    assert h.orc.deployments == {}
    target = h.orc.state.apps["/web"].version
    assert [i.version for i in h.orc.state.instances.values()] == [target, target]


async def test_deleting_an_app_stops_every_instance_and_emits_app_terminated(h: Harness) -> None:
    ids = await running_app(h, 2)
    sub = h.bus.subscribe({"app_terminated_event", "deployment_success"})
    plan = await h.delete("/web")
    assert actions(plan) == [[STOP]] and "/web" not in h.orc.state.apps
    await h.tick()
    assert h.cluster.killed == set(ids)
    assert await drained(sub) == []  # not terminated while its tasks still run
    for task_id in ids:
        await h.status(task_id, "TASK_KILLED")
    await h.tick()
    events = await drained(sub)
    assert [e["eventType"] for e in events] == ["app_terminated_event", "deployment_success"]
    assert events[0]["appId"] == "/web"
    assert (h.orc.deployments, h.orc.locks, h.orc.queue.entries) == ({}, {}, {})
    assert (await Repository(h.store).load()).apps == []


async def test_a_kill_that_failed_is_sent_again_on_a_later_round(h: Harness) -> None:
    (task_id,) = await running_app(h, 1)
    h.cluster.unreachable = True
    await h.delete("/web")
    await h.tick()
    h.cluster.unreachable = False
    h.clock.advance(30.0)
    await h.tick()
    assert h.cluster.killed == {task_id}


async def test_instances_of_a_deleted_app_are_killed_without_a_deployment(h: Harness) -> None:
    (task_id,) = await running_app(h, 1)
    plan = await h.delete("/web")
    await h.ops.cancel_deployment(plan.id, force=True)
    h.clock.advance(600.0)  # Marathon's reconciliation_interval
    await h.tick()
    assert h.cluster.killed == {task_id}


# -- deployments that overlap -----------------------------------------------------------------


async def test_a_second_change_while_a_deployment_runs_is_locked_unless_forced(h: Harness) -> None:
    first = await h.deploy(web(2))
    await h.tick()
    with pytest.raises(AppLocked) as locked:
        await h.deploy(web(3))
    assert locked.value.extra["deployments"] == [{"id": first.id}]
    assert h.orc.state.apps["/web"].instances == 2
    sub = h.bus.subscribe({"deployment_failed"})
    second = await h.deploy(web(3), force=True)
    (failed,) = await drained(sub)
    assert (failed["id"], failed["reason"]) == (
        first.id,
        "Forcefully replaced by a newer deployment",
    )
    assert list(h.orc.deployments) == [second.id]
    assert h.orc.locks == {"/web": second.id}


async def test_cancelling_with_force_stops_the_deployment_and_keeps_the_target(h: Harness) -> None:
    plan = await h.deploy(web(3))
    await h.tick()
    assert await h.ops.cancel_deployment(plan.id, force=True) is None
    assert (h.orc.deployments, h.orc.locks) == ({}, {})
    assert (h.orc.state.apps["/web"].instances, h.orc.queue.count("/web")) == (3, 3)


async def test_cancelling_without_force_rolls_back_to_the_original(h: Harness) -> None:
    await running_app(h, 1)
    plan = await h.deploy(web(3))
    await h.tick()
    back = await h.ops.cancel_deployment(plan.id, force=False)
    assert back is not None and back.rollback_of == plan.id
    assert list(h.orc.deployments) == [back.id]
    assert h.orc.state.apps["/web"].instances == 1
    await h.tick()
    assert (h.orc.queue.count("/web"), h.orc.deployments) == (0, {})


async def test_rolling_back_a_create_deletes_the_app(h: Harness) -> None:
    plan = await h.deploy(web(2))
    back = await h.ops.cancel_deployment(plan.id, force=False)
    assert back is not None and actions(back) == [[STOP]]
    assert "/web" not in h.orc.state.apps


# -- persistence ------------------------------------------------------------------------------


async def test_a_new_orchestrator_on_the_same_store_resumes_everything(h: Harness) -> None:
    plan = await h.deploy(web(2))
    await h.launch(offer("h1", cpus=1))
    (task_id,) = await h.run_all()
    orc, cluster = await new_orchestrator(h.store, h.clock, h.bus)
    try:
        assert orc.state.apps == h.orc.state.apps
        assert {t: i.state for t, i in orc.state.instances.items()} == {task_id: "TASK_RUNNING"}
        assert list(orc.deployments) == [plan.id]
        assert orc.deployments[plan.id].current_step == 1
        assert orc.locks == {"/web": plan.id}
        await orc.tick()
        assert orc.queue.count("/web") == 1  # the one instance not launched yet
        assert cluster.interest == [(True, True)]
    finally:
        await orc.stop()


# -- offer interest ---------------------------------------------------------------------------


async def test_offers_are_suppressed_once_the_queue_is_empty(h: Harness) -> None:
    await h.deploy(web(1))
    await h.launch(offer("h1"))
    await h.tick()
    await h.tick()  # nothing changed: nothing more to say
    assert h.cluster.interest == [(True, True), (False, False)]


async def test_revives_are_spaced_by_the_minimum_interval(h: Harness) -> None:
    await running_app(h, 1)
    assert h.cluster.interest[-1] == (False, False)
    await h.deploy(web(2))
    await h.tick()
    assert h.cluster.interest[-1] == (True, False)  # wanted again, revived too recently
    h.clock.advance(1.0)
    await h.tick()
    assert h.cluster.interest[-1] == (True, True)


async def test_a_delayed_launch_revives_only_when_the_delay_ends(h: Harness) -> None:
    (task_id,) = await running_app(h, 1, backoffSeconds=5)
    h.clock.advance(10.0)
    await h.status(task_id, "TASK_FAILED")
    before = len(h.cluster.interest)
    await h.tick()
    assert h.cluster.interest[before:] == [(True, False)]
    h.clock.advance(5.0)
    h.orc.delay_expired()
    await h.tick()
    assert h.cluster.interest[-1] == (True, True)
