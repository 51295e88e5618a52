"""The orchestrator's in-memory view: apps, instances and explicit groups, with indexes.

Everything here is also in the :class:`~roost.marathon.repository.Repository`; this is the
read side the REST API and the scheduler consult without touching the store.
"""

from __future__ import annotations

from collections.abc import Iterator

from roost.marathon.appdef import AppDefinition
from roost.marathon.instances import Instance


class MarathonState:
    def __init__(self) -> None:
        self.apps: dict[str, AppDefinition] = {}
        self.instances: dict[str, Instance] = {}
        self._by_app: dict[str, dict[str, Instance]] = {}
        self.groups: set[str] = set()
        """Groups created explicitly (``POST /v2/groups``); others exist through their apps."""
        self.last_failure: dict[str, dict[str, object]] = {}
        """``lastTaskFailure`` per app id."""
        self.root_version: str | None = None

    # -- instances ---------------------------------------------------------------------------
    def add_instance(self, inst: Instance) -> None:
        self.instances[inst.task_id] = inst
        self._by_app.setdefault(inst.app_id, {})[inst.task_id] = inst

    def remove_instance(self, task_id: str) -> Instance | None:
        inst = self.instances.pop(task_id, None)
        if inst is not None:
            peers = self._by_app.get(inst.app_id)
            if peers is not None:
                peers.pop(task_id, None)
                if not peers:
                    del self._by_app[inst.app_id]
        return inst

    def instances_of(self, app_id: str) -> list[Instance]:
        return list(self._by_app.get(app_id, {}).values())

    def count_instances(self, app_id: str) -> int:
        return len(self._by_app.get(app_id, ()))

    def all_instances(self) -> Iterator[Instance]:
        return iter(self.instances.values())

    def used_service_ports(self) -> set[int]:
        return {p.port for a in self.apps.values() for p in a.port_definitions if p.port}

    # -- groups ------------------------------------------------------------------------------
    def group_ids(self) -> set[str]:
        """Every group: explicit ones, every ancestor of an app or group, and the root."""
        out = {"/"}
        for path in list(self.apps) + list(self.groups):
            parts = path.strip("/").split("/")
            limit = len(parts) if path in self.groups else len(parts) - 1
            for i in range(1, limit + 1):
                out.add("/" + "/".join(parts[:i]))
        return out

    def apps_under(self, group_id: str) -> list[str]:
        prefix = "/" if group_id == "/" else group_id.rstrip("/") + "/"
        return sorted(a for a in self.apps if a.startswith(prefix))
