"""Marathon's durable state in :class:`roost.coord.Store` (apps, versions, instances, deployments).

Layout under ``root`` (``/marathon`` by default), values JSON::

    framework_id                         {"id": "..."}
    apps/<safe_path>                     the current app definition (Marathon JSON)
    app_versions/<safe_path>/<version>   every stored version (the newest MAX_VERSIONS kept)
    instances/<task_id>                  one record per non-terminal instance
    deployments/<id>                     running deployment plans
    groups                               explicitly created (possibly empty) groups

App ids map to keys through ``safe_path`` (``/grp/web`` -> ``grp_web``): ``_`` is not allowed in
ids, so the mapping is one-to-one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from roost.coord.errors import NoNodeError
from roost.coord.store import Store
from roost.core.logs import kv
from roost.marathon.instances import Instance

log = logging.getLogger(__name__)

MAX_VERSIONS = 50
"""Versions kept per app (Marathon's ``--zk_max_versions`` default)."""


def _safe(app_id: str) -> str:
    return app_id.strip("/").replace("/", "_")


@dataclass
class Loaded:
    framework_id: str | None = None
    apps: list[dict[str, Any]] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    unreadable_instances: list[str] = field(default_factory=list)


class Repository:
    def __init__(self, store: Store, root: str = "/marathon") -> None:
        self.store = store
        self.root = root.rstrip("/")

    def _key(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    async def _get_json(self, key: str) -> Any:
        got = await self.store.get(key)
        return None if got is None else json.loads(got[0])

    async def _put_json(self, key: str, value: Any) -> None:
        await self.store.put(key, json.dumps(value, separators=(",", ":")).encode())

    async def _delete(self, key: str) -> None:
        try:
            await self.store.delete(key)
        except NoNodeError:
            pass

    async def load(self) -> Loaded:
        out = Loaded()
        fid = await self._get_json(self._key("framework_id"))
        out.framework_id = fid.get("id") if isinstance(fid, dict) else None
        for name in await self.store.list(self._key("apps")):
            app = await self._get_json(self._key("apps", name))
            if isinstance(app, dict):
                out.apps.append(app)
        for name in await self.store.list(self._key("instances")):
            rec = await self._get_json(self._key("instances", name))
            try:
                out.instances.append(Instance.from_record(rec))
            except (TypeError, ValueError, AttributeError):
                # keep the task id: reconciliation with the master finds out what it is
                log.warning("unreadable stored instance", extra=kv(task_id=name))
                out.unreadable_instances.append(name)
        for name in await self.store.list(self._key("deployments")):
            dep = await self._get_json(self._key("deployments", name))
            if isinstance(dep, dict):
                out.deployments.append(dep)
        groups = await self._get_json(self._key("groups"))
        out.groups = [g for g in groups if isinstance(g, str)] if isinstance(groups, list) else []
        return out

    async def set_framework_id(self, framework_id: str) -> None:
        await self._put_json(self._key("framework_id"), {"id": framework_id})

    async def put_app(self, app: dict[str, Any]) -> None:
        """Store ``app`` as current and as a version (pruning the oldest past MAX_VERSIONS)."""
        safe = _safe(app["id"])
        await self._put_json(self._key("app_versions", safe, app["version"]), app)
        await self._put_json(self._key("apps", safe), app)
        versions = await self.store.list(self._key("app_versions", safe))
        for old in sorted(versions)[:-MAX_VERSIONS]:
            await self._delete(self._key("app_versions", safe, old))

    async def put_app_current(self, app: dict[str, Any]) -> None:
        """Update the current definition only (a scale keeps the version list short)."""
        safe = _safe(app["id"])
        await self._put_json(self._key("app_versions", safe, app["version"]), app)
        await self._put_json(self._key("apps", safe), app)

    async def delete_app(self, app_id: str) -> None:
        safe = _safe(app_id)
        await self._delete(self._key("apps", safe))
        for v in await self.store.list(self._key("app_versions", safe)):
            await self._delete(self._key("app_versions", safe, v))

    async def app_versions(self, app_id: str) -> list[str]:
        return sorted(await self.store.list(self._key("app_versions", _safe(app_id))), reverse=True)

    async def app_version(self, app_id: str, version: str) -> dict[str, Any] | None:
        if "/" in version or not version:
            return None
        got = await self._get_json(self._key("app_versions", _safe(app_id), version))
        return got if isinstance(got, dict) else None

    async def put_instance(self, inst: Instance) -> None:
        await self._put_json(self._key("instances", inst.task_id), inst.to_record())

    async def delete_instance(self, task_id: str) -> None:
        await self._delete(self._key("instances", task_id))

    async def put_deployment(self, plan: dict[str, Any]) -> None:
        await self._put_json(self._key("deployments", plan["id"]), plan)

    async def delete_deployment(self, deployment_id: str) -> None:
        await self._delete(self._key("deployments", deployment_id))

    async def put_groups(self, groups: list[str]) -> None:
        await self._put_json(self._key("groups"), sorted(groups))
