"""What the orchestrator keeps in the store, and how it comes back from it.

* :func:`load_state` rebuilds the orchestrator after a restart: apps, instances, groups and
  the running deployments, whose stored plans are the intent log (:func:`apply_intent`).
* :func:`save_apps` writes app records once their change is committed (its plan stored); a
  write that fails is kept in ``orc.unsaved`` and retried every round (:func:`save_unsaved`),
  so a store hiccup after the commit point never leaves memory and store apart for good.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from roost.core.logs import kv
from roost.marathon.appdef import AppDefinition, app_json
from roost.marathon.deployment import DeploymentPlan
from roost.marathon.deployment.plan import load_app
from roost.marathon.timestamps import parse_ts

if TYPE_CHECKING:
    from roost.marathon.orchestrator import Orchestrator

log = logging.getLogger(__name__)


async def load_state(orc: Orchestrator) -> None:
    loaded = await orc.repo.load()
    orc.framework_id = loaded.framework_id
    for raw in loaded.apps:
        try:
            app = load_app(raw)
        except Exception:  # a bad record must not stop the orchestrator from starting
            log.exception("skipping unreadable stored app", extra=kv(id=raw.get("id")))
            continue
        orc.state.apps[app.id] = app
    for inst in loaded.instances:
        inst.healthy = None  # health is not stored: checks start again below
        orc.state.add_instance(inst)
    plans: list[DeploymentPlan] = []
    for rec in loaded.deployments:
        try:
            plans.append(DeploymentPlan.from_record(rec))
        except Exception:  # an unreadable plan must not keep marathon from starting
            log.exception("skipping unreadable stored deployment", extra=kv(id=rec.get("id")))
    for plan in sorted(plans, key=lambda p: parse_ts(p.version)):
        # a crash while forcing left the replaced plan behind: the newer one wins
        for older in {orc.locks[a] for a in plan.affected_apps if a in orc.locks}:
            orc.deployments.pop(older, None)
            orc.locks = {a: d for a, d in orc.locks.items() if d != older}
            await orc.repo.delete_deployment(older)
        orc.deployments[plan.id] = plan
        for app_id in plan.affected_apps:
            orc.locks[app_id] = plan.id
        await apply_intent(orc, plan)
    for inst in orc.state.all_instances():
        if inst.running:
            await orc.track_checks(inst)
    orc.state.groups = set(loaded.groups)


async def apply_intent(orc: Orchestrator, plan: DeploymentPlan) -> None:
    """A stored plan is the intent: its target definitions are the apps, even if the process
    died between writing the plan and writing the apps. Only the apps it changes, and never
    over a stored definition newer than the plan."""
    for app_id in plan.affected_apps:
        target = plan.target.get(app_id)
        current = orc.state.apps.get(app_id)
        if current is not None and current.version:
            if parse_ts(current.version) > parse_ts(plan.version):
                continue
        if target is None and current is not None:
            del orc.state.apps[app_id]
            await save_apps(orc, {app_id: None})
        elif target is not None and (current is None or current.version != target.version):
            orc.state.apps[app_id] = target
            await save_apps(orc, {app_id: target})


async def save_apps(orc: Orchestrator, apps: Mapping[str, AppDefinition | None]) -> None:
    """Store (or, for ``None``, delete) app records; failures are retried by the loop."""
    for app_id, app in apps.items():
        orc.unsaved.pop(app_id, None)
        try:
            if app is None:
                await orc.repo.delete_app(app_id)
            else:
                await orc.repo.put_app(app_json(app))
        except Exception as e:
            log.warning("app record not saved; retrying", extra=kv(app=app_id, error=str(e)))
            orc.unsaved[app_id] = app


async def save_unsaved(orc: Orchestrator) -> None:
    if orc.unsaved:
        await save_apps(orc, dict(orc.unsaved))
