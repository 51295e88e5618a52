"""What the REST API asks of the orchestrator: app changes become deployment plans.

Every change stores the new definitions first (so a following GET sees them, Marathon issue
#2070) and then starts one deployment over the affected apps. Apps held by a running
deployment answer 409 unless ``force``, which cancels the holders (``deployment_failed``).
Versions: every change gets a new, strictly later version; a scale keeps
``lastConfigChangeAt``, anything else moves it (which is what makes a rolling restart).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from roost.core.ids import new_uuid
from roost.marathon.appdef import AppDefinition, VersionInfo, app_json, is_scale_only
from roost.marathon.deployment import DeploymentPlan, build_plan
from roost.marathon.deployment.plan import load_app
from roost.marathon.errors import AppLocked, BadRequest, app_not_found, deployment_not_found
from roost.marathon.instances import Instance
from roost.marathon.orchestrator import Orchestrator
from roost.marathon.placement import ServicePortAllocator
from roost.marathon.timestamps import newer_version


class Operations:
    def __init__(self, orc: Orchestrator, ports: ServicePortAllocator | None = None) -> None:
        self.orc = orc
        self.ports = ports or ServicePortAllocator()
        self._last_version: str | None = None

    def _version(self) -> str:
        self._last_version = newer_version(self._last_version, self.orc.clock)
        return self._last_version

    def _check_locks(self, app_ids: Iterable[str], force: bool) -> list[DeploymentPlan]:
        holders = {self.orc.locks[a] for a in app_ids if a in self.orc.locks}
        if holders and not force:
            raise AppLocked(holders)
        return [self.orc.deployments[h] for h in holders if h in self.orc.deployments]

    def _versioned(
        self, old: AppDefinition | None, new: AppDefinition, version: str, restart: bool
    ) -> AppDefinition:
        used = self.orc.state.used_service_ports()
        if old is not None:
            used -= {p.port for p in old.port_definitions}
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
        targets: Mapping[str, AppDefinition | None],
        *,
        force: bool,
        restart: frozenset[str] = frozenset(),
    ) -> DeploymentPlan:
        """Move ``targets`` (app id -> new definition, ``None`` = delete) into place."""
        orc = self.orc
        async with orc.lock:
            cancelled = self._check_locks(targets, force)
            for plan in cancelled:
                await orc.cancel_deployment(plan, "Forcefully replaced by a newer deployment")
            version = self._version()
            original = {a: orc.state.apps.get(a) for a in targets}
            final: dict[str, AppDefinition | None] = {}
            for app_id, new in targets.items():
                old = original[app_id]
                if new is None:
                    final[app_id] = None
                    continue
                final[app_id] = self._versioned(old, new, version, app_id in restart)
            for app_id, new in final.items():  # stored first: a store failure changes nothing
                if new is None:
                    await orc.repo.delete_app(app_id)
                else:
                    await orc.repo.put_app(app_json(new))
            for app_id, new in final.items():
                if new is None:
                    orc.state.apps.pop(app_id, None)
                    orc.queue.clear(app_id)
                    continue
                old = original[app_id]
                orc.state.apps[app_id] = new
                if old is None or not is_scale_only(old, new) or app_id in restart:
                    orc.queue.reset_delay(app_id)  # a new version launches at once
            orc.state.root_version = version
            orc.offers_changed()  # queued work may fit offers it was refused before
            plan = build_plan(new_uuid(), version, original, final, restart=restart)
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
        """Kill tasks; with ``scale`` lower their apps' ``instances`` by as many (a deployment)."""
        orc = self.orc
        insts = [orc.state.instances[t] for t in task_ids if t in orc.state.instances]
        if not scale:
            async with orc.lock:
                for inst in insts:
                    await orc.kill_instance(inst.task_id)
            orc.poke()
            return insts, None
        per_app: dict[str, int] = {}
        for inst in insts:
            per_app[inst.app_id] = per_app.get(inst.app_id, 0) + 1
        targets: dict[str, AppDefinition | None] = {}
        for app_id, n in per_app.items():
            app = orc.state.apps.get(app_id)
            if app is not None:
                targets[app_id] = app.model_copy(update={"instances": max(0, app.instances - n)})
        self._check_locks(targets, force)
        async with orc.lock:
            for inst in insts:
                await orc.kill_instance(inst.task_id)
        plan = await self.change_apps(targets, force=force)
        return insts, plan

    async def cancel_deployment(self, deployment_id: str, *, force: bool) -> DeploymentPlan | None:
        """``DELETE /v2/deployments/{id}``: ``force`` just stops it; else roll it back."""
        orc = self.orc
        plan = orc.deployments.get(deployment_id)
        if plan is None:
            raise deployment_not_found(deployment_id)
        if force:
            async with orc.lock:
                await orc.cancel_deployment(plan, "The deployment was cancelled")
            return None
        back = {app_id: plan.original.get(app_id) for app_id in plan.affected_apps}
        async with orc.lock:
            await orc.cancel_deployment(plan, "The deployment was rolled back")
        rollback = await self.change_apps(back, force=True)
        rollback.rollback_of = deployment_id
        return rollback


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
