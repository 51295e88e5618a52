"""roost's Marathon API driven by the real ``marathon`` 0.13.0 client (reference §4) against a
real master and agent.

The client is synchronous and the server serves in the test's event loop, so every client
call runs in a worker thread (:func:`call`). Assertions look at the client's parsed objects
and at the tasks the agent actually runs.
"""

from __future__ import annotations

import asyncio
import collections
import collections.abc
import functools
import queue
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest

# marathon 0.13.0 still uses ``collections.Iterable`` (reference §4.4).
collections.Iterable = collections.abc.Iterable  # type: ignore[attr-defined]

from marathon.client import MarathonClient  # noqa: E402
from marathon.exceptions import ConflictError, NotFoundError  # noqa: E402
from marathon.models import (  # noqa: E402
    MarathonApp,
    MarathonConstraint,
    MarathonDeployment,
    MarathonGroup,
    MarathonHealthCheck,
    MarathonInfo,
    MarathonQueueItem,
    MarathonTask,
)
from marathon.models.app import MarathonUpgradeStrategy  # noqa: E402
from marathon.models.deployment import MarathonDeploymentPlan  # noqa: E402
from marathon.models.events import (  # noqa: E402
    MarathonDeploymentInfo,
    MarathonDeploymentSuccess,
    MarathonStatusUpdateEvent,
)

from tests.marathon.conftest import MarathonEnv, eventually  # noqa: E402

T = TypeVar("T")
CALL_TIMEOUT = 15.0
SETTLE = 30.0
STUCK = [["hostname", "LIKE", "nowhere"]]  # no agent matches: the deployment keeps running
LOCAL = r"127\..*"  # every agent here


class Recorded(MarathonClient):  # type: ignore[misc]
    """The client, remembering the status code of every response it got."""

    def __init__(self, url: str) -> None:
        super().__init__(url, timeout=10)
        self.statuses: list[int] = []
        self.session.hooks["response"].append(self._record)

    def _record(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self.statuses.append(response.status_code)


@pytest.fixture
def marathon(env: MarathonEnv) -> Recorded:
    return Recorded(env.url)


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one blocking client call off the loop the server is serving on (bounded)."""
    work = asyncio.to_thread(functools.partial(fn, *args, **kwargs))
    return await asyncio.wait_for(work, CALL_TIMEOUT)


def sleeper(**fields: Any) -> MarathonApp:
    base: dict[str, Any] = {"cmd": "sleep 600", "cpus": 0.1, "mem": 16, "instances": 1}
    return MarathonApp(**{**base, **fields})


def deployment(result: Any) -> bool:
    """The body of a deployment-creating call: ``{"deploymentId", "version"}`` (reference §1.4)."""
    return isinstance(result, dict) and set(result) == {"deploymentId", "version"}


async def settled(
    marathon: Recorded,
    app_id: str,
    n: int,
    where: Callable[[MarathonApp], bool] = lambda app: True,
) -> MarathonApp:
    """Wait until ``app_id`` runs exactly ``n`` tasks, no deployment touches it and ``where``."""

    async def check() -> MarathonApp | None:
        app = await call(marathon.get_app, app_id)
        running = [t for t in app.tasks if t.state == "TASK_RUNNING"]
        done = len(app.tasks) == len(running) == app.tasks_running == n and not app.deployments
        return app if done and where(app) else None

    app: MarathonApp = await eventually(check, timeout=SETTLE)
    return app


async def agent_runs(env: MarathonEnv, wanted: set[str]) -> None:
    """Wait until the agent itself reports exactly ``wanted`` as its TASK_RUNNING tasks."""
    agent = env.cluster.agents[0]
    assert agent is not None

    async def check() -> bool:
        async with httpx.AsyncClient() as c:
            state = (await c.get(f"http://127.0.0.1:{agent.port}/state")).json()
        running = {
            t["id"]
            for fw in state["frameworks"]
            for ex in fw["executors"]
            for t in ex["tasks"]
            if t["state"] == "TASK_RUNNING"
        }
        return running == wanted

    await eventually(check, timeout=SETTLE)


def ids(*apps: MarathonApp) -> set[str]:
    return {t.id for app in apps for t in app.tasks}


async def test_created_app_runs_on_the_agent_until_delete_app_kills_it(
    env: MarathonEnv, marathon: Recorded
) -> None:
    created = await call(marathon.create_app, "/web", sleeper(labels={"team": "a"}))
    assert marathon.statuses[-1] == 201
    assert isinstance(created, MarathonApp)
    assert created.id == "/web" and created.cmd == "sleep 600"
    assert created.cpus == 0.1 and created.mem == 16.0 and created.instances == 1
    assert created.tasks_running == 0 and created.labels == {"team": "a"}
    assert len(created.deployments) == 1 and created.deployments[0].id
    assert created.port_definitions[0].port >= 10000
    app = await settled(marathon, "/web", 1)
    [task] = app.tasks
    assert isinstance(task, MarathonTask)
    assert task.app_id == "/web" and task.host == "127.0.0.1" and task.started_at is not None
    assert task.service_ports == [created.port_definitions[0].port]
    await agent_runs(env, {task.id})
    assert deployment(await call(marathon.delete_app, "/web"))
    with pytest.raises(NotFoundError):
        await call(marathon.get_app, "/web")
    await agent_runs(env, set())

    async def no_tasks() -> bool:  # (the instance goes when TASK_KILLED reaches Marathon)
        return await call(marathon.list_tasks) == []

    await eventually(no_tasks, timeout=SETTLE)


async def test_list_apps_tasks_and_endpoints_filter_and_pair_ports(
    env: MarathonEnv, marathon: Recorded
) -> None:
    two_ports = [{"port": 0, "name": "http"}, {"port": 0, "name": "admin"}]
    alpha = sleeper(labels={"team": "a", "tier": "web"}, port_definitions=two_ports)
    created = await call(marathon.create_app, "/alpha", alpha)
    await call(marathon.create_app, "/beta", sleeper(labels={"team": "b"}, instances=2))
    await settled(marathon, "/alpha", 1)
    await settled(marathon, "/beta", 2)
    listed = await call(marathon.list_apps, embed_tasks=True)
    assert {a.id: len(a.tasks) for a in listed} == {"/alpha": 1, "/beta": 2}
    assert all(a.tasks == [] for a in await call(marathon.list_apps))  # tasks only if embedded
    filters = [
        ("app_id", "alph", "/alpha"),
        ("label", "team==b", "/beta"),
        ("label", "tier", "/alpha"),
    ]
    for name, value, found in [*filters, ("instances", 2, "/beta")]:  # the last one client-side
        assert [a.id for a in await call(marathon.list_apps, **{name: value})] == [found]
    service_ports = [p.port for p in created.port_definitions]
    [task] = await call(marathon.list_tasks, "/alpha")
    assert task.app_id == "/alpha" and task.service_ports == service_ports and len(task.ports) == 2
    everything = await call(marathon.list_tasks, host="127.0.0.1")  # a client-side filter
    assert sorted(t.app_id for t in everything) == ["/alpha", "/beta", "/beta"]
    endpoints = [
        (e.app_id, e.task_id, e.service_port, e.task_port)
        for e in await call(marathon.list_endpoints)
    ]
    assert len(endpoints) == 4
    pairs = zip(service_ports, task.ports, strict=True)
    expected = [("/alpha", task.id, service, port) for service, port in pairs]
    assert sorted(e for e in endpoints if e[0] == "/alpha") == sorted(expected)
    await agent_runs(env, {t.id for t in everything})


async def test_scale_app_by_instances_then_by_delta_keeps_the_first_task(
    env: MarathonEnv, marathon: Recorded
) -> None:
    await call(marathon.create_app, "/scaled", sleeper())
    first = ids(await settled(marathon, "/scaled", 1))
    assert deployment(await call(marathon.scale_app, "/scaled", instances=3))
    up = await settled(marathon, "/scaled", 3)
    assert first <= ids(up) and up.instances == 3
    await agent_runs(env, ids(up))
    assert deployment(await call(marathon.scale_app, "/scaled", delta=-2))
    down = await settled(marathon, "/scaled", 1)
    assert down.instances == 1
    await agent_runs(env, ids(down))


def killed(result: Any) -> Any:
    """What a kill call answered: the killed task ids, ``"deployment"``, or the bare result."""
    if isinstance(result, MarathonTask):
        return {result.id}
    if isinstance(result, list) and all(isinstance(t, MarathonTask) for t in result):
        return {t.id for t in result}
    return "deployment" if deployment(result) else result


@pytest.mark.parametrize(
    ("method", "scale", "answer"),
    [
        ("kill_task", False, "victims"),
        ("kill_task", True, "deployment"),
        ("kill_tasks", False, "victims"),
        ("kill_tasks", True, "deployment"),
        ("kill_given_tasks", False, True),  # the client says True when the server answers 200
        ("kill_given_tasks", True, True),
    ],
)
async def test_killed_tasks_are_replaced_unless_scaled_away(
    env: MarathonEnv, marathon: Recorded, method: str, scale: bool, answer: Any
) -> None:
    await call(marathon.create_app, "/victims", sleeper(instances=2))
    before = sorted(ids(await settled(marathon, "/victims", 2)))
    victims = set(before) if method == "kill_tasks" else {before[0]}
    args = {"kill_task": ("/victims", before[0]), "kill_tasks": ("/victims",)}
    result = await call(getattr(marathon, method), *args.get(method, ([before[0]],)), scale=scale)
    assert killed(result) == (victims if answer == "victims" else answer)
    n = 2 - len(victims) if scale else 2

    def replaced(app: MarathonApp) -> bool:
        kept = set(before) - victims
        return kept <= ids(app) and not ids(app) & victims and app.instances == n

    await agent_runs(env, ids(await settled(marathon, "/victims", n, where=replaced)))


async def test_restart_app_replaces_every_task_with_the_new_version(
    env: MarathonEnv, marathon: Recorded
) -> None:
    await call(marathon.create_app, "/rolling", sleeper(instances=2))
    before = ids(await settled(marathon, "/rolling", 2))
    result = await call(marathon.restart_app, "/rolling")
    assert deployment(result)

    def restarted(app: MarathonApp) -> bool:
        return not ids(app) & before and all(t.version == result["version"] for t in app.tasks)

    await agent_runs(env, ids(await settled(marathon, "/rolling", 2, where=restarted)))


async def test_update_app_with_health_check_constraint_and_upgrade_strategy(
    env: MarathonEnv, marathon: Recorded
) -> None:
    await call(marathon.create_app, "/served", sleeper())
    await settled(marathon, "/served", 1)
    check = MarathonHealthCheck(
        protocol="HTTP", path="/", port_index=0, interval_seconds=1, max_consecutive_failures=3
    )
    update = MarathonApp(
        cmd=f"exec {sys.executable} -m http.server $PORT0 --bind 127.0.0.1",
        health_checks=[check],
        constraints=[MarathonConstraint("hostname", "LIKE", LOCAL)],
        upgrade_strategy=MarathonUpgradeStrategy(
            minimum_health_capacity=0.5, maximum_over_capacity=0.0
        ),
    )
    result = await call(marathon.update_app, "/served", update)
    assert deployment(result)

    def healthy(app: MarathonApp) -> bool:
        return app.tasks_healthy == 1 and app.tasks[0].version == result["version"]

    app = await settled(marathon, "/served", 1, where=healthy)
    [got] = app.health_checks
    assert isinstance(got, MarathonHealthCheck)
    assert (got.protocol, got.path, got.port_index, got.interval_seconds) == ("HTTP", "/", 0, 1)
    [constraint] = app.constraints
    assert isinstance(constraint, MarathonConstraint)
    assert (constraint.field, constraint.operator, constraint.value) == ("hostname", "LIKE", LOCAL)
    assert isinstance(app.upgrade_strategy, MarathonUpgradeStrategy)
    strategy = app.upgrade_strategy
    assert (strategy.minimum_health_capacity, strategy.maximum_over_capacity) == (0.5, 0.0)
    assert app.tasks[0].health_check_results[0].alive is True
    await agent_runs(env, ids(app))


async def test_versions_can_be_listed_read_and_rolled_back_to(
    env: MarathonEnv, marathon: Recorded
) -> None:
    await call(marathon.create_app, "/versioned", sleeper())
    v1 = (await settled(marathon, "/versioned", 1)).version
    await call(marathon.update_app, "/versioned", MarathonApp(cmd="sleep 700"))
    await settled(marathon, "/versioned", 1, where=lambda app: app.cmd == "sleep 700")
    versions = await call(marathon.list_versions, "/versioned")
    assert len(versions) == 2 and versions[-1] == v1
    old = await call(marathon.get_version, "/versioned", v1)
    assert isinstance(old, MarathonApp) and old.cmd == "sleep 600" and old.version == v1
    result = await call(marathon.rollback_app, "/versioned", v1)
    assert deployment(result)

    def rolled_back(app: MarathonApp) -> bool:
        return app.cmd == "sleep 600" and app.tasks[0].version == result["version"]

    await agent_runs(env, ids(await settled(marathon, "/versioned", 1, where=rolled_back)))
    assert len(await call(marathon.list_versions, "/versioned")) == 3


async def stuck_app(marathon: Recorded, app_id: str) -> str:
    """Create an app no agent can host; its deployment stays running. Returns the plan id."""
    created = await call(marathon.create_app, app_id, sleeper(constraints=STUCK))
    plan_id: str = created.deployments[0].id
    return plan_id


async def test_running_deployment_is_listed_locks_the_app_and_shows_in_the_queue(
    marathon: Recorded,
) -> None:
    plan_id = await stuck_app(marathon, "/stuck")
    [running] = await call(marathon.list_deployments)
    assert isinstance(running, MarathonDeployment)
    assert running.id == plan_id and running.affected_apps == ["/stuck"]
    assert running.total_steps == len(running.steps) >= 1
    assert {a.app for s in running.steps for a in s.actions} == {"/stuck"}
    assert [a.app for a in running.current_actions] == ["/stuck"]
    with pytest.raises(ConflictError, match="locked"):
        await call(marathon.restart_app, "/stuck")

    async def declined() -> MarathonQueueItem | None:
        items = await call(marathon.list_queue)
        seen = items and items[0].processed_offers_summary["processedOffersCount"] > 0
        return items[0] if seen else None

    item = await eventually(declined, timeout=SETTLE)
    assert isinstance(item, MarathonQueueItem)
    assert item.app.id == "/stuck" and item.count == 1
    summary = item.processed_offers_summary
    assert summary["unusedOffersCount"] == summary["processedOffersCount"]


async def test_delete_deployment_rolls_back_and_forced_delete_only_cancels(
    marathon: Recorded,
) -> None:
    plan_id = await stuck_app(marathon, "/undone")
    assert deployment(await call(marathon.delete_deployment, plan_id))

    async def app_gone() -> bool:  # rolling back a creation removes the app
        apps = await call(marathon.list_apps)
        return not apps and not await call(marathon.list_deployments)

    await eventually(app_gone, timeout=SETTLE)
    plan_id = await stuck_app(marathon, "/cancelled")
    assert await call(marathon.delete_deployment, plan_id, force=True) == {}
    assert marathon.statuses[-1] == 202
    assert await call(marathon.list_deployments) == []
    app = await call(marathon.get_app, "/cancelled")  # the app itself stays
    assert app.instances == 1 and app.deployments == [] and app.tasks == []


async def test_reset_delay_relaunches_a_failing_app_before_its_backoff_ends(
    env: MarathonEnv, marathon: Recorded
) -> None:
    sub = env.subscribe("status_update_event")
    await call(marathon.create_app, "/flaky", sleeper(cmd="exit 1", backoff_seconds=600))

    async def next_failure() -> None:
        async for event in sub:
            if event["appId"] == "/flaky" and event["taskStatus"] == "TASK_FAILED":
                return

    await asyncio.wait_for(next_failure(), SETTLE)

    async def delayed() -> MarathonQueueItem | None:
        items = await call(marathon.list_queue)
        return items[0] if items and items[0].delay.time_left_seconds > 0 else None

    item = await eventually(delayed)
    assert item.app.id == "/flaky" and item.delay.overdue is False
    failure = (await call(marathon.get_app, "/flaky")).last_task_failure
    assert failure.state == "TASK_FAILED" and failure.app_id == "/flaky"
    await call(marathon.reset_delay, "/flaky")
    await asyncio.wait_for(next_failure(), SETTLE)  # relaunched long before the delay ends


async def test_info_leader_ping_and_metrics_describe_this_server(
    env: MarathonEnv, marathon: Recorded
) -> None:
    await call(marathon.create_app, "/counted", sleeper())
    await settled(marathon, "/counted", 1)
    info = await call(marathon.get_info)
    assert isinstance(info, MarathonInfo)
    assert info.name == "marathon" and info.elected is True
    assert info.framework_id == env.server.orc.framework_id and info.framework_id
    assert info.http_config.http_port == env.server.port
    assert info.marathon_config.master == env.cluster.master_address
    assert info.leader == (await call(marathon.get_leader))["leader"]
    assert info.leader.endswith(f":{env.server.port}")
    assert await call(marathon.ping) == b"pong"
    gauges = (await call(marathon.get_metrics))["gauges"]
    assert gauges["marathon.apps"]["value"] == gauges["marathon.instances_running"]["value"] == 1


async def group_runs(env: MarathonEnv, marathon: Recorded, n: int) -> None:
    """Wait until both apps of ``/shop`` have ``n`` instances, running on the agent."""
    apps = [
        await settled(marathon, f"/shop/{name}", n, where=lambda app: app.instances == n)
        for name in ("api", "web")
    ]
    await agent_runs(env, ids(*apps))


async def test_group_create_list_get_scale_roll_back_and_delete(
    env: MarathonEnv, marathon: Recorded
) -> None:
    group = MarathonGroup(id="/shop", apps=[sleeper(id="web"), sleeper(id="api")])
    created = await call(marathon.create_group, group)
    assert deployment(created)
    await group_runs(env, marathon, 1)
    [listed] = await call(marathon.list_groups)
    assert isinstance(listed, MarathonGroup) and listed.id == "/shop"
    assert sorted(a.id for a in listed.apps) == ["/shop/api", "/shop/web"]
    got = await call(marathon.get_group, "/shop")
    assert got.id == "/shop" and all(isinstance(a, MarathonApp) for a in got.apps)
    assert {a.id: a.tasks_running for a in got.apps} == {"/shop/api": 1, "/shop/web": 1}
    assert deployment(await call(marathon.scale_group, "/shop", 2))
    await group_runs(env, marathon, 2)
    assert deployment(await call(marathon.rollback_group, "/shop", created["version"]))
    await group_runs(env, marathon, 1)
    assert deployment(await call(marathon.delete_group, "/shop"))
    await agent_runs(env, set())
    with pytest.raises(NotFoundError):
        await call(marathon.get_group, "/shop")
    assert await call(marathon.list_groups) == []


def stream_into(marathon: Recorded, types: list[str], sink: queue.Queue[Any]) -> None:
    """Daemon-thread body: forward parsed events (or the client's error) until the stream ends."""
    try:
        for event in marathon.event_stream(event_types=types):
            sink.put(event)
    except Exception as e:
        sink.put(e)


def drain(sink: queue.Queue[Any], until: Callable[[Any], bool]) -> list[Any]:
    """Events from ``sink`` up to the first one ``until`` accepts (each waited for, bounded)."""
    events: list[Any] = []
    while not events or not until(events[-1]):
        events.append(sink.get(timeout=SETTLE / 2))
        if isinstance(events[-1], Exception):
            raise events[-1]
    return events


async def test_event_stream_reports_deployment_and_task_events_while_an_app_starts(
    env: MarathonEnv, marathon: Recorded
) -> None:
    sink: queue.Queue[Any] = queue.Queue()
    types = ["deployment_info", "deployment_success", "status_update_event"]
    threading.Thread(target=stream_into, args=(marathon, types, sink), daemon=True).start()

    async def subscribed() -> bool:
        return env.server.bus.subscriber_count > 0

    await eventually(subscribed)
    plan_id = (await call(marathon.create_app, "/streamed", sleeper())).deployments[0].id

    def done(e: Any) -> bool:
        return isinstance(e, MarathonDeploymentSuccess) and e.id == plan_id

    events = await asyncio.wait_for(asyncio.to_thread(drain, sink, done), SETTLE)
    allowed = (MarathonDeploymentInfo, MarathonDeploymentSuccess, MarathonStatusUpdateEvent)
    assert all(isinstance(e, allowed) for e in events)
    [info, *_] = [e for e in events if isinstance(e, MarathonDeploymentInfo)]
    assert isinstance(info.plan, MarathonDeploymentPlan) and info.plan.id == plan_id
    assert {a.app for s in info.plan.steps for a in s.actions} == {"/streamed"}
    assert [a["id"] for a in info.plan.target.apps] == ["/streamed"]
    assert info.plan.original.apps == []
    [task] = (await settled(marathon, "/streamed", 1)).tasks
    [running] = [e for e in events if getattr(e, "task_status", "") == "TASK_RUNNING"]
    assert (running.app_id, running.task_id, running.host) == ("/streamed", task.id, "127.0.0.1")
    await agent_runs(env, {task.id})
