"""The orchestrator: desired state (apps), actual state (instances) and the loop joining them.

Pure decisions live in :mod:`roost.marathon.deployment`; this module applies them. Every
change — a status update, an API call, a health result, a delay running out — pokes one
loop that re-evaluates running deployments (step by step) and supervises apps no deployment
holds (``instances`` is a desired count: an exited task is replaced, with launch backoff).
The cluster itself is reached through :class:`ClusterPort` (kill, want offers), so the
orchestrator can be driven without a master in unit tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from roost.core.aio import wait_event
from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.core.logs import kv
from roost.marathon.appdef import AppDefinition
from roost.marathon.definitions import LaunchedDefinitions
from roost.marathon.deployment import DeploymentPlan, restart_decision, scale_decision
from roost.marathon.deployment.decisions import Decision
from roost.marathon.deployment.plan import RESTART, SCALE, START, STOP
from roost.marathon.emit import Emitter
from roost.marathon.health import HealthMonitor
from roost.marathon.instances import Instance
from roost.marathon.kills import KillService
from roost.marathon.launch_queue import LaunchQueue
from roost.marathon.persistence import load_state, save_unsaved
from roost.marathon.readiness import ReadinessMonitor
from roost.marathon.repository import Repository
from roost.marathon.state import MarathonState
from roost.marathon.timestamps import format_ts

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
TICK_COALESCE_SECONDS = 0.02
SUPPRESS_REASSERT_SECONDS = 5.0
TASK_LAUNCH_TIMEOUT = 300.0
"""Seconds a task may stay staged before it is killed (Marathon's ``task_launch_timeout``)."""
REVIVE_MIN_INTERVAL = 1.0
"""Marathon's ``min_revive_offers_interval`` is 5 s; roost's allocator is cheap, 1 s is fine."""
BACKOFF_FAILURE_STATES = frozenset({"TASK_FAILED", "TASK_FINISHED", "TASK_ERROR"})
FAILURE_STATES = frozenset(
    {"TASK_FAILED", "TASK_LOST", "TASK_ERROR", "TASK_DROPPED", "TASK_GONE", "TASK_UNREACHABLE"}
)


class ClusterPort(Protocol):
    """What the orchestrator needs from the cluster (the framework implements it)."""

    async def kill(self, task_id: str, agent_id: str) -> None: ...

    def want_offers(self, wanted: bool, *, revive: bool) -> None: ...


class Orchestrator:
    def __init__(self, repo: Repository, emit: Emitter, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.repo = repo
        self.emit = emit
        self.clock = clock
        self.state = MarathonState()
        self.queue = LaunchQueue()
        self.deployments: dict[str, DeploymentPlan] = {}
        self.locks: dict[str, str] = {}
        """app id -> id of the deployment holding it."""
        self.cluster: ClusterPort | None = None
        self.framework_id: str | None = None
        self.health = HealthMonitor(
            clock=clock, on_change=self.health_changed, on_kill=self._unhealthy_kill
        )
        self.readiness = ReadinessMonitor(clock=clock, on_ready=self._ready)
        self.kills = KillService(clock, lambda: self.cluster)
        self.definitions = LaunchedDefinitions(repo)
        self.unsaved: dict[str, AppDefinition | None] = {}
        """App records whose write failed after their change was committed (retried)."""
        self.agent_attributes: dict[str, dict[str, str]] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._queue_grew = False
        self._last_revive = -1e9
        self._last_suppress = -1e9
        self._offers_wanted: bool | None = None
        self.lock = asyncio.Lock()
        """Serializes API mutations with the loop (deployments see consistent state)."""

    # -- lifecycle ---------------------------------------------------------------------------
    async def load(self) -> None:
        """Rebuild from the store after a restart (see :mod:`roost.marathon.persistence`)."""
        await load_state(self)

    async def track_checks(self, inst: Instance) -> None:
        """Health (or, without health checks, readiness) checks of a running instance, as
        defined by the version it was launched with."""
        app = await self.definitions.of(inst, self.state.apps.get(inst.app_id))
        if app is None:
            return
        self.health.track(inst.task_id, inst.task_id, app, inst.host, inst.host_ports)
        if app.readiness_checks and not app.health_checks:
            self.readiness.track(inst, app)

    def start(self) -> None:
        self.kills.start()
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._loop(), name="marathon-orchestrator")

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        await self.kills.aclose()
        await self.health.aclose()
        await self.readiness.aclose()

    def poke(self) -> None:
        self._wake.set()

    def now(self) -> float:
        return self.clock.monotonic()

    def ts(self) -> str:
        return format_ts(self.clock.time())

    # -- the loop ----------------------------------------------------------------------------
    async def _loop(self) -> None:
        while True:
            await wait_event(self._wake, TICK_SECONDS)
            # a burst of status updates (a large launch) makes one round, not one per update
            await asyncio.sleep(TICK_COALESCE_SECONDS)
            self._wake.clear()
            try:
                async with self.lock:
                    await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # never let one bad round end orchestration
                log.exception("orchestrator round failed")

    async def tick(self) -> None:
        """One round: advance deployments, supervise free apps, manage offer interest."""
        await save_unsaved(self)
        for plan in list(self.deployments.values()):
            try:
                await self._advance(plan)
            except Exception:  # one failing deployment (store away) must not stall the rest
                log.exception("deployment round failed", extra=kv(deployment=plan.id))
        for app_id, app in list(self.state.apps.items()):
            if app_id not in self.locks:
                await self._apply(app, scale_decision(app, self._insts(app_id), self._q(app_id)))
        await self._expire_and_orphans()
        self.kills.retry_due(self.state.all_instances())
        self._offer_interest()

    async def _expire_and_orphans(self) -> None:
        """Kill instances of apps that no longer exist (upstream ``reconcileTasks``) and tasks
        that did not start within ``task_launch_timeout``."""
        wall = self.clock.time()
        for inst in list(self.state.all_instances()):
            if inst.killing or not inst.active:
                continue
            orphan = inst.app_id not in self.state.apps and inst.app_id not in self.locks
            starting = inst.state in ("TASK_STAGING", "TASK_STARTING")
            stuck = starting and wall - inst.staged_at > TASK_LAUNCH_TIMEOUT
            if orphan or stuck:
                log.warning(
                    "killing instance", extra=kv(task_id=inst.task_id, orphan=orphan, stuck=stuck)
                )
                await self.kill_instance(inst.task_id)

    def _insts(self, app_id: str) -> list[Instance]:
        return self.state.instances_of(app_id)

    def _q(self, app_id: str) -> int:
        return self.queue.count(app_id)

    async def _apply(self, app: AppDefinition, d: Decision) -> None:
        if d.launch:
            self.queue.add(app.id, d.launch, self.clock.time())
            self._queue_grew = True
        if d.unqueue:
            self.queue.remove(app.id, d.unqueue)
        for task_id in d.kill:
            await self.kill_instance(task_id)

    def _offer_interest(self) -> None:
        if self.cluster is None:
            return
        now = self.now()
        wanted = bool(self.queue.entries)
        ready = bool(self.queue.launchable(now))
        revive = False
        if wanted and ready and (self._queue_grew or self._offers_wanted is not True):
            if now - self._last_revive >= REVIVE_MIN_INTERVAL:
                revive = True
                self._last_revive = now
                self._queue_grew = False
        # an idle framework says SUPPRESS again now and then: idempotent, and it heals a call
        # lost on the way (the master keeps offering otherwise)
        reassert = not wanted and now - self._last_suppress >= SUPPRESS_REASSERT_SECONDS
        if revive or wanted != self._offers_wanted or reassert:
            self.cluster.want_offers(wanted, revive=revive)
            self._offers_wanted = wanted
            if not wanted:
                self._last_suppress = now

    def offers_changed(self) -> None:
        """Declined offers may suit the queue now (a delay ran out, a definition changed):
        REVIVE on the next round, clearing the decline filters."""
        self._queue_grew = True
        self.poke()

    delay_expired = offers_changed

    # -- deployments -------------------------------------------------------------------------
    async def _advance(self, plan: DeploymentPlan) -> None:
        while plan.current_step < len(plan.steps):
            step_done = True
            for action in plan.current_actions:
                if not await self._run_action(plan, action.action, action.app_id):
                    step_done = False
            if not step_done:
                return
            self.emit.deployment_step_success(plan)
            plan.current_step += 1
            await self.repo.put_deployment(plan.to_record())
            if plan.current_step < len(plan.steps):
                self.emit.deployment_info(plan)
        await self._finish(plan, success=True)

    async def _run_action(self, plan: DeploymentPlan, action: str, app_id: str) -> bool:
        target = plan.target.get(app_id)
        insts = self._insts(app_id)
        if action == START:
            return True
        if action == STOP:
            self.queue.forget(app_id)
            for inst in insts:
                if inst.active and not inst.killing:
                    await self.kill_instance(inst.task_id)
            if insts:
                return False
            self.emit.app_terminated(app_id)
            return True
        if target is None:
            return True
        if action == SCALE:
            d = scale_decision(target, insts, self._q(app_id), since=plan.started_wall)
        elif action == RESTART:
            d = restart_decision(target, insts, self._q(app_id))
        else:
            return True
        await self._apply(target, d)
        return d.done

    async def _finish(self, plan: DeploymentPlan, *, success: bool, reason: str = "") -> None:
        self.deployments.pop(plan.id, None)
        for app_id, holder in list(self.locks.items()):
            if holder == plan.id:
                del self.locks[app_id]
        await self.repo.delete_deployment(plan.id)
        if success:
            self.emit.deployment_success(plan)
        else:
            self.emit.deployment_failed(plan, reason)
        self.poke()

    async def start_deployment(self, plan: DeploymentPlan) -> None:
        """Register ``plan`` (the caller holds ``self.lock`` and checked the locks)."""
        plan.started_mono = self.now()
        plan.started_wall = self.clock.time()
        for app_id in plan.affected_apps:
            self.locks[app_id] = plan.id
        self.deployments[plan.id] = plan
        await self.repo.put_deployment(plan.to_record())
        self.emit.deployment_info(plan)
        self.poke()

    async def cancel_deployment(self, plan: DeploymentPlan, reason: str) -> None:
        """Stop driving ``plan`` (forced over, or rolled back); instances stay as they are."""
        await self._finish(plan, success=False, reason=reason)

    # -- instances ---------------------------------------------------------------------------
    async def kill_instance(self, task_id: str) -> Instance | None:
        inst = self.state.instances.get(task_id)
        if inst is None:
            return None
        if not inst.killing:
            inst.killing = True
            await self.repo.put_instance(inst)
        self.readiness.untrack(task_id)
        self.kills.request(task_id, inst.agent_id)
        return inst

    async def add_instance(self, inst: Instance) -> None:
        """A task about to be launched: stored first, so a restart can reconcile it."""
        self.state.add_instance(inst)
        await self.repo.put_instance(inst)
        self.emit.instance_changed(inst)

    async def launch_failed(self, task_ids: list[str], message: str) -> None:
        """The master refused an ACCEPT: its instances are dropped and each of their apps
        waits out one more launch delay, so a launch that keeps failing cannot loop."""
        apps = {i.app_id for t in task_ids if (i := self.state.instances.get(t)) is not None}
        for app_id in sorted(apps):
            app = self.state.apps.get(app_id)
            if app is not None:
                delay = self.queue.delay_for(
                    app.id, app.backoff_seconds, app.backoff_factor, app.max_launch_delay_seconds
                )
                self.schedule_delay_wakeup(delay.on_failure(self.now()))
        for task_id in task_ids:
            await self.on_status(
                {"task_id": {"value": task_id}, "state": "TASK_DROPPED", "message": message}
            )

    async def on_status(self, status: dict[str, object]) -> None:
        from roost.marathon.status import apply_status

        await apply_status(self, status)

    # -- health and readiness ---------------------------------------------------------------
    async def health_changed(self, task_id: str, alive: bool) -> None:
        """A running instance's health changed (``tasksHealthy``/``tasksUnhealthy``). As
        upstream, the event fires when ``alive`` flips: a task failing from its start is
        unhealthy without a ``health_status_changed_event`` (its health was never alive)."""
        inst = self.state.instances.get(task_id)
        if inst is None or inst.healthy == alive:
            return
        was, inst.healthy = inst.healthy, alive
        if alive or was is not None:
            self.emit.health_changed(inst, alive)
        app = await self.definitions.of(inst, self.state.apps.get(inst.app_id))
        if alive and app is not None and app.readiness_checks and inst.ready_at_mono is None:
            self.readiness.track(inst, app)
        self.poke()

    async def _unhealthy_kill(self, task_id: str, reason: str) -> None:
        inst = self.state.instances.get(task_id)
        if inst is None or inst.killing:
            return
        self.emit.unhealthy_kill(inst, reason)
        async with self.lock:
            await self.kill_instance(task_id)
        self.poke()

    async def _ready(self, task_id: str) -> None:
        inst = self.state.instances.get(task_id)
        if inst is not None and inst.ready_at_mono is None:
            inst.ready_at_mono = self.now()
            self.poke()

    def schedule_delay_wakeup(self, seconds: float) -> None:
        """Revive offers when a launch delay of ``seconds`` runs out."""
        loop = asyncio.get_running_loop()
        loop.call_later(max(0.0, seconds) + 0.01, self.delay_expired)
