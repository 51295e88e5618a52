"""The definition an instance was launched with.

During a rolling restart the old instances keep the health and readiness checks of *their*
version until they are replaced; after a restart of ``roost marathon`` (or a late
``TASK_RUNNING``) the checks are set up from that version, read from the app's stored version
history, not from the app's current definition.
"""

from __future__ import annotations

import logging

from roost.core.logs import kv
from roost.marathon.appdef import AppDefinition
from roost.marathon.deployment.plan import load_app
from roost.marathon.instances import Instance
from roost.marathon.repository import Repository

log = logging.getLogger(__name__)

CACHE_SIZE = 256


class LaunchedDefinitions:
    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._cache: dict[tuple[str, str], AppDefinition] = {}

    async def of(self, inst: Instance, current: AppDefinition | None) -> AppDefinition | None:
        """``inst``'s own version of its app; the current definition when that is it, or
        when the old version cannot be read; ``None`` when the app is gone."""
        if current is None or current.version == inst.version:
            return current
        key = (inst.app_id, inst.version)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        try:
            raw = await self.repo.app_version(inst.app_id, inst.version)
            if raw is None:
                return current
            cached = load_app(raw)
        except Exception as e:  # an unreadable version must not stop status handling
            log.warning("old app version unreadable", extra=kv(key=str(key), error=str(e)))
            return current
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = cached
        return cached
