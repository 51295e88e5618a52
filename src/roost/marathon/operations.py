"""What the REST API asks of the orchestrator: app changes become deployment plans.

Every change stores the new definitions first (so a following GET sees them, Marathon issue
#2070) and then starts one deployment over the affected apps. Apps held by a running
deployment answer 409 unless ``force``, which cancels the holders (``deployment_failed``).
Versions: every change gets a new, strictly later version; a scale keeps
``lastConfigChangeAt``, anything else moves it (which is what makes a rolling restart).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from roost.core.ids import new_uuid
from roost.marathon.appdef import (
    AppDefinition,
    AppValidationError,
    VersionInfo,
    is_scale_only,
)
from roost.marathon.deployment import DeploymentPlan, build_plan
from roost.marathon.deployment.plan import load_app
from roost.marathon.errors import (
    AppLocked,
    BadRequest,
    Conflict,
    app_not_found,
    deployment_not_found,
)
from roost.marathon.instances import Instance
from roost.marathon.orchestrator import Orchestrator
from roost.marathon.persistence import save_apps
from roost.marathon.placement import PortsExhausted, ServicePortAllocator
from roost.marathon.timestamps import newer_version, parse_ts

Targets = Mapping[str, AppDefinition | None] | Callable[[], Mapping[str, AppDefinition | None]]


class Operations:
    def __init__(self, orc: Orchestrator, ports: ServicePortAllocator | None = None) -> None:
        self.orc = orc
        self.ports = ports or ServicePortAllocator()
        self._last_version: str | None = None

    def _version(self) -> str:
        if self._last_version is None:  # after a restart: later than anything stored
            known = [a.version for a in self.orc.state.apps.values() if a.version]
            known += [p.version for p in self.orc.deployments.values()]
            self._last_version = max(known, key=parse_ts, default=None)
        self._last_version = newer_version(self._last_version, self.orc.clock)
        return self._last_version

    def _check_locks(self, app_ids: Iterable[str], force: bool) -> list[DeploymentPlan]:
        holders = {self.orc.locks[a] for a in app_ids if a in self.orc.locks}
        if holders and not force:
            raise AppLocked(holders)
        return [self.orc.deployments[h] for h in holders if h in self.orc.deployments]

    def _versioned(
        self,
        old: AppDefinition | None,
        new: AppDefinition,
        version: str,
        restart: bool,
        used: set[int],
    ) -> AppDefinition:
        new = self.ports.assign(new, used, previous=old)
        scale_only = old is not None and not restart and is_scale_only(old, new)
        if scale_only and old is not None and old.version_info is not None:
            info = VersionInfo(
                last_scaling_at=version,
                last_config_change_at=old.version_info.last_config_change_at,
            )
        else:
            info = VersionInfo(last_scaling_at=version, last_config_change_at=version)
        return new.model_copy(update={"version": version, "version_info": info})

    async def change_apps(
        self,
        targets: Targets,
        *,
        force: bool,
        restart: frozenset[str] = frozenset(),
    ) -> DeploymentPlan:
        """Move ``targets`` (app id -> new definition, ``None`` = delete) into place.

        ``targets`` may be a function: it is then called under the orchestrator's lock, so
        reading the current definitions and changing them is one atomic step."""
        async with self.orc.lock:
            return await self.change_apps_locked(targets, force=force, restart=restart)

    async def change_apps_locked(
        self,
        targets: Targets,
        *,
        force: bool,
        restart: frozenset[str] = frozenset(),
        rollback_of: str | None = None,
    ) -> DeploymentPlan:
        orc = self.orc
        wanted = dict(targets() if callable(targets) else targets)
        for app_id, new in wanted.items():
            if new is not None and new.id != app_id:
                raise BadRequest(f"App id '{new.id}' does not match '{app_id}'")
        holders = self._check_locks(wanted, force)
        version = self._version()
        original = {a: orc.state.apps.get(a) for a in wanted}
        final: dict[str, AppDefinition | None] = {}
        taken = orc.state.used_service_ports()
        for app_id, new in wanted.items():
            old = original[app_id]
            if new is None:
                final[app_id] = None
                continue
            used = taken - ({p.port for p in old.port_definitions} if old else set())
            try:
                app = self._versioned(old, new, version, app_id in restart, used)
            except PortsExhausted as e:
                details = [{"path": "/portDefinitions", "errors": [str(e)]}]
                raise AppValidationError(422, "Object is not valid", details) from None
            taken |= {p.port for p in app.port_definitions if p.port}
            final[app_id] = app
        plan = build_plan(new_uuid(), version, original, final, restart=restart)
        # the plan is the intent log: stored first, a restart finishes what it describes
        plan.started_wall = orc.clock.time()
        plan.rollback_of = rollback_of
        await orc.repo.put_deployment(plan.to_record())  # the commit point
        await save_apps(orc, final)
        for holder in holders:
            await orc.cancel_deployment(holder, "Forcefully replaced by a newer deployment")
        for app_id, new in final.items():
            if new is None:
                orc.state.apps.pop(app_id, None)
                orc.state.last_failure.pop(app_id, None)
                orc.queue.clear(app_id)
                continue
            old = original[app_id]
            orc.state.apps[app_id] = new
            if old is None or not is_scale_only(old, new) or app_id in restart:
                orc.queue.reset_delay(app_id)  # a new version launches at once
        orc.state.root_version = version
        orc.offers_changed()  # queued work may fit offers it was refused before
        await orc.start_deployment(plan)
        return plan

    async def rollback_app(self, app_id: str, version: str, *, force: bool) -> DeploymentPlan:
        raw = await self.orc.repo.app_version(app_id, version)
        if raw is None:
            raise app_not_found(f"{app_id}' in version '{version}")
        return await self.change_apps({app_id: load_app(raw)}, force=force)

    async def kill_tasks(
        self, task_ids: list[str], *, scale: bool, force: bool
    ) -> tuple[list[Instance], DeploymentPlan | None]:
        """Kill tasks; with ``scale`` lower their apps' ``instances`` by as many (a deployment).

        One locked step: with ``scale`` the locks are checked before anything is killed, so a
        409 kills nothing, and no replacement is queued between the kills and the scale."""
        orc = self.orc
        async with orc.lock:
            unique = dict.fromkeys(task_ids)
            insts = [orc.state.instances[t] for t in unique if t in orc.state.instances]
            if not scale:
                for inst in insts:
                    await orc.kill_instance(inst.task_id)
                orc.poke()
                return insts, None
            per_app: dict[str, int] = {}
            for inst in insts:  # a task already on its way out was counted off before
                if inst.active and not inst.killing:
                    per_app[inst.app_id] = per_app.get(inst.app_id, 0) + 1
            targets: dict[str, AppDefinition | None] = {}
            for app_id, n in per_app.items():
                app = orc.state.apps.get(app_id)
                if app is not None:
                    left = max(0, app.instances - n)
                    targets[app_id] = app.model_copy(update={"instances": left})
            self._check_locks(targets, force)
            for inst in insts:
                await orc.kill_instance(inst.task_id)
            plan = await self.change_apps_locked(targets, force=force)
            return insts, plan

    async def cancel_deployment(self, deployment_id: str, *, force: bool) -> DeploymentPlan | None:
        """``DELETE /v2/deployments/{id}``: ``force`` just stops it; else roll it back."""
        orc = self.orc
        async with orc.lock:
            plan = orc.deployments.get(deployment_id)
            if plan is None:
                raise deployment_not_found(deployment_id)
            if force:
                await orc.cancel_deployment(plan, "The deployment was cancelled")
                return None
            back = {app_id: plan.original.get(app_id) for app_id in plan.affected_apps}
            await orc.cancel_deployment(plan, "The deployment was rolled back")
            return await self.change_apps_locked(back, force=True, rollback_of=deployment_id)

    async def create_app(self, app: AppDefinition, *, force: bool) -> DeploymentPlan:
        """``POST /v2/apps``: 409 when the id is taken (checked under the lock)."""

        def targets() -> dict[str, AppDefinition | None]:
            if app.id in self.orc.state.apps:
                raise Conflict(f"An app with id [{app.id}] already exists.")
            if app.id in self.orc.state.group_ids():
                raise Conflict(f"A group with id [{app.id}] already exists.")
            return {app.id: app}

        return await self.change_apps(targets, force=force)


def require_app(orc: Orchestrator, app_id: str) -> AppDefinition:
    app = orc.state.apps.get(app_id)
    if app is None:
        raise app_not_found(app_id)
    return app


def task_ids_in(body: Any) -> list[str]:
    """The ``{"ids": [...]}`` body of ``POST /v2/tasks/delete``."""

    def invalid(path: str, error: str) -> BadRequest:
        return BadRequest("Invalid JSON", details=[{"path": path, "errors": [error]}])

    if not isinstance(body, dict):
        raise invalid("/", "error.expected.jsobject")
    if "ids" not in body:
        raise invalid("/ids", "error.path.missing")
    if not isinstance(body["ids"], list):
        raise invalid("/ids", "error.expected.jsarray")
    ids = body["ids"]
    if not all(isinstance(i, str) for i in ids):
        raise BadRequest(
            "Invalid JSON", details=[{"path": "/ids", "errors": ["error.expected.jsstring"]}]
        )
    return list(ids)
