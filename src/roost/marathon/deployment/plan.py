"""Deployment plans: the steps that move apps from ``original`` to ``target`` definitions.

Marathon's ``DeploymentPlan`` (``docs/docs/deployments.md``): steps run one after another and
the actions of a step together. New apps get ``StartApplication`` then ``ScaleApplication``;
removed apps ``StopApplication``; a change of ``instances`` only is a ``ScaleApplication``;
any other change a ``RestartApplication`` (rolling upgrade). For start and scale,
dependencies go first; for stop, dependents go first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from roost.marathon.appdef import (
    AppDefinition,
    VersionInfo,
    app_json,
    is_scale_only,
    parse_app,
)

START = "StartApplication"
SCALE = "ScaleApplication"
RESTART = "RestartApplication"
STOP = "StopApplication"


@dataclass(frozen=True)
class Action:
    action: str
    app_id: str

    def to_json(self) -> dict[str, str]:
        return {"action": self.action, "app": self.app_id}


@dataclass
class DeploymentPlan:
    id: str
    version: str
    steps: list[list[Action]]
    original: dict[str, AppDefinition | None]
    target: dict[str, AppDefinition | None]
    current_step: int = 0
    """Index of the step running now (== len(steps) when finished)."""
    rollback_of: str | None = None
    started_mono: float = field(default=0.0, compare=False)
    started_wall: float = 0.0
    """When the deployment started (wall clock, stored: a restart keeps it)."""

    @property
    def affected_apps(self) -> list[str]:
        return sorted({a.app_id for step in self.steps for a in step})

    @property
    def current_actions(self) -> list[Action]:
        if 0 <= self.current_step < len(self.steps):
            return self.steps[self.current_step]
        return []

    def api_json(self) -> dict[str, Any]:
        """One entry of ``GET /v2/deployments`` (``deployments.raml``)."""
        return {
            "id": self.id,
            "version": self.version,
            "affectedApps": self.affected_apps,
            "affectedPods": [],
            "steps": [{"actions": [a.to_json() for a in step]} for step in self.steps],
            "currentActions": [
                {**a.to_json(), "readinessCheckResults": []} for a in self.current_actions
            ],
            "currentStep": min(self.current_step + 1, len(self.steps)),
            "totalSteps": len(self.steps),
        }

    def event_plan(self) -> dict[str, Any]:
        """``plan`` of deployment events: with ``original`` and ``target`` groups."""
        return {
            "id": self.id,
            "version": self.version,
            "steps": [{"actions": [a.to_json() for a in step]} for step in self.steps],
            "original": _group(self.original, self.version),
            "target": _group(self.target, self.version),
        }

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "steps": [[a.to_json() for a in step] for step in self.steps],
            "original": {k: _dump(v) for k, v in self.original.items()},
            "target": {k: _dump(v) for k, v in self.target.items()},
            "currentStep": self.current_step,
            "rollbackOf": self.rollback_of,
            "startedAt": self.started_wall,
        }

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> DeploymentPlan:
        return cls(
            id=rec["id"],
            version=rec["version"],
            steps=[[Action(a["action"], a["app"]) for a in step] for step in rec["steps"]],
            original={k: _load(v) for k, v in rec["original"].items()},
            target={k: _load(v) for k, v in rec["target"].items()},
            current_step=int(rec.get("currentStep", 0)),
            rollback_of=rec.get("rollbackOf"),
            started_wall=float(rec.get("startedAt") or 0.0),
        )


def _group(apps: Mapping[str, AppDefinition | None], version: str) -> dict[str, Any]:
    return {
        "id": "/",
        "apps": [app_json(a) for a in apps.values() if a is not None],
        "groups": [],
        "pods": [],
        "dependencies": [],
        "version": version,
    }


def _dump(app: AppDefinition | None) -> dict[str, Any] | None:
    return None if app is None else stored_json(app)


def _load(raw: Any) -> AppDefinition | None:
    return None if raw is None else load_app(raw)


def stored_json(app: AppDefinition) -> dict[str, Any]:
    """An app as stored: its API JSON plus version info."""
    return app_json(app)


def load_app(raw: Mapping[str, Any]) -> AppDefinition:
    """Re-read a stored app (its version and versionInfo kept)."""
    app = parse_app(dict(raw))
    update: dict[str, Any] = {}
    if raw.get("version") and app.version != raw.get("version"):
        update["version"] = raw["version"]
    info = raw.get("versionInfo")
    if isinstance(info, Mapping):
        update["version_info"] = VersionInfo(
            last_scaling_at=info["lastScalingAt"],
            last_config_change_at=info["lastConfigChangeAt"],
        )
    if update:
        app = app.model_copy(update=update)
    return app


def _levels(apps: Mapping[str, AppDefinition]) -> list[list[str]]:
    """Group app ids by dependency depth (dependencies first); cycles share the last level."""
    depth: dict[str, int] = {}

    def visit(app_id: str, seen: frozenset[str]) -> int:
        if app_id in depth:
            return depth[app_id]
        app = apps.get(app_id)
        deps = [d for d in (app.dependencies if app else []) if d in apps and d not in seen]
        d = 1 + max((visit(x, seen | {app_id}) for x in deps), default=-1)
        depth[app_id] = d
        return d

    for app_id in sorted(apps):
        visit(app_id, frozenset())
    levels: dict[int, list[str]] = {}
    for app_id, d in depth.items():
        levels.setdefault(d, []).append(app_id)
    return [sorted(levels[k]) for k in sorted(levels)]


def build_plan(
    plan_id: str,
    version: str,
    original: Mapping[str, AppDefinition | None],
    target: Mapping[str, AppDefinition | None],
    *,
    restart: frozenset[str] = frozenset(),
) -> DeploymentPlan:
    """Steps for every app whose definition differs (``restart``: restart even if equal)."""
    starts: dict[str, AppDefinition] = {}
    scales: dict[str, AppDefinition] = {}
    restarts: dict[str, AppDefinition] = {}
    stops: dict[str, AppDefinition] = {}
    for app_id in sorted(set(original) | set(target)):
        old, new = original.get(app_id), target.get(app_id)
        if new is None:
            if old is not None:
                stops[app_id] = old
        elif old is None:
            starts[app_id] = new
        elif app_id in restart or not is_scale_only(old, new):
            restarts[app_id] = new
        elif old.instances != new.instances:
            scales[app_id] = new
    steps: list[list[Action]] = []
    for level in reversed(_levels(stops)):
        steps.append([Action(STOP, a) for a in level])
    if starts:
        steps.append([Action(START, a) for a in sorted(starts)])
    changed = {**starts, **scales, **restarts}
    for level in _levels(changed):
        acts = [Action(RESTART if a in restarts else SCALE, a) for a in level]
        steps.append(acts)
    return DeploymentPlan(plan_id, version, steps, dict(original), dict(target))
