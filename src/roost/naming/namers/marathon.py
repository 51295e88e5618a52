"""``io.l5d.marathon``: apps and their tasks from a Marathon v2 API (Linkerd's
``AppIdNamer``), kept fresh from ``/v2/events``.

``/#/io.l5d.marathon/prod/web/rest`` names the tasks of the app ``/prod/web``: the path is
lower-cased and the *shortest* leading part that is an app id wins (``/web/v1`` is the app
``/web`` with residual ``/v1`` when there is no app ``/web/v1``); no app matches ⇒ ``~``. Each
running task is an endpoint ``host:ports[0]``; with ``use_health_check`` only tasks whose
health checks all pass. An app with no such task is ``~`` too (Addr.Neg).

The app list and every app looked up are refreshed every ``ttl`` seconds (Linkerd's ``ttlMs``,
5 s) and at once when ``/v2/events`` reports something that can change them (status updates,
health changes, deployments, app definitions). A refresh that fails — Marathon down, a 5xx,
garbage — keeps the last known good endpoints; only a first lookup that cannot be answered
fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx

from roost.core.aio import cancel_quietly
from roost.naming.addr import NEG as ADDR_NEG
from roost.naming.addr import Addr, Address, Bound
from roost.naming.name import BoundName
from roost.naming.namer import Name
from roost.naming.path import Path
from roost.naming.tree import NEG, Leaf, NameTree
from roost.naming.var import Var

log = logging.getLogger(__name__)

REFRESHING_EVENTS = frozenset(
    {
        "status_update_event",
        "health_status_changed_event",
        "instance_health_changed_event",
        "unhealthy_task_kill_event",
        "deployment_success",
        "deployment_failed",
        "deployment_step_success",
        "api_post_event",
        "app_terminated_event",
    }
)


class MarathonError(Exception):
    """Marathon could not be asked, or answered something unusable."""


class MarathonNamer:
    """Serves Marathon apps; mount it at ``/#/io.l5d.marathon``."""

    def __init__(
        self,
        url: str = "http://marathon.mesos:80",
        *,
        uri_prefix: str = "",
        prefix: str = "io.l5d.marathon",
        ttl: float = 5.0,
        use_health_check: bool = False,
        timeout: float = 5.0,
    ) -> None:
        if not ttl > 0:
            raise ValueError(f"ttl must be > 0, got {ttl!r}")
        self.url = url.rstrip("/") + uri_prefix.rstrip("/")
        self.prefix = Path.of("#", *prefix.split("/"))
        self.ttl = ttl
        self.use_health_check = use_health_check
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout)
        self._apps: frozenset[Path] | None = None
        self._vars: dict[Path, Var[Addr]] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.refreshes = 0
        self.failures = 0

    # -- Namer --------------------------------------------------------------------------

    async def lookup(self, path: Path) -> NameTree[Name]:
        if not path.elems:
            return NEG
        if self._apps is None:
            self._apps = await self._app_ids()  # the first answer decides, or raises
            self._start()
        lowered = Path.of(*(label.lower() for label in path.labels))
        for n in range(1, len(lowered) + 1):
            app = lowered.take(n)
            if app in self._apps:
                var = self._vars.get(app)
                if var is None:
                    var = self._vars[app] = Var(await self._addr(app))
                if var.value is ADDR_NEG:
                    return NEG
                return Leaf(BoundName(self.prefix + app, var, path.drop(n)))
        return NEG

    # -- asking Marathon ----------------------------------------------------------------

    async def _get(self, target: str) -> Any:
        try:
            rep = await self._http.get(target)
        except httpx.HTTPError as exc:
            raise MarathonError(f"GET {self.url}{target}: {type(exc).__name__} {exc}") from exc
        if rep.status_code != 200:
            raise MarathonError(f"GET {self.url}{target}: HTTP {rep.status_code}")
        try:
            return rep.json()
        except ValueError as exc:
            raise MarathonError(f"GET {self.url}{target}: not JSON") from exc

    async def _app_ids(self) -> frozenset[Path]:
        body = await self._get("/v2/apps")
        try:
            ids = [Path.read(app["id"].lower()) for app in body["apps"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise MarathonError(f"GET /v2/apps: unexpected answer ({exc})") from exc
        return frozenset(ids)

    async def _addr(self, app: Path) -> Addr:
        body = await self._get(f"/v2/apps{app.show}?embed=app.tasks")
        try:
            tasks = body["app"].get("tasks") or []
            addresses = [
                Address(t["host"], int(t["ports"][0]))
                for t in tasks
                if t.get("ports") and self._serving(t)
            ]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MarathonError(f"app {app.show}: unexpected answer ({exc})") from exc
        return Bound(addresses) if addresses else ADDR_NEG

    def _serving(self, task: dict[str, Any]) -> bool:
        if task.get("state", "TASK_RUNNING") != "TASK_RUNNING":
            return False
        if not self.use_health_check:
            return True
        results = task.get("healthCheckResults") or []
        return all(r.get("alive") for r in results)

    # -- keeping fresh ------------------------------------------------------------------

    async def refresh(self) -> None:
        """Ask again for the app list and every app looked up so far; a failure keeps what
        was known."""
        self.refreshes += 1
        try:
            self._apps = await self._app_ids()
        except MarathonError as exc:
            self.failures += 1
            log.warning("io.l5d.marathon: %s (keeping the last apps)", exc)
        for app, var in list(self._vars.items()):
            if self._apps is not None and app not in self._apps:
                var.set(ADDR_NEG)
                continue
            try:
                var.set(await self._addr(app))
            except MarathonError as exc:
                self.failures += 1
                log.warning("io.l5d.marathon: %s (keeping the last addresses)", exc)

    def _start(self) -> None:
        if not self._tasks:
            loop = asyncio.get_running_loop()
            self._tasks = [loop.create_task(self._poll()), loop.create_task(self._follow())]

    async def _poll(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.ttl):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.refresh()
            except Exception:  # the refresher must outlive a surprise
                log.exception("io.l5d.marathon: refresh failed")

    async def _follow(self) -> None:
        """Follow ``/v2/events``; reconnect (after a pause) when it ends or fails."""
        while True:
            try:
                async for event_type in self._events():
                    if event_type in REFRESHING_EVENTS:
                        self._wake.set()
            except (httpx.HTTPError, MarathonError) as exc:
                log.info("io.l5d.marathon: event stream: %s", exc)
            await asyncio.sleep(min(self.ttl, 1.0))

    async def _events(self) -> AsyncIterator[str]:
        headers = {"Accept": "text/event-stream"}
        timeout = httpx.Timeout(10.0, read=None)
        async with self._http.stream("GET", "/v2/events", headers=headers, timeout=timeout) as rep:
            if rep.status_code != 200:
                raise MarathonError(f"GET /v2/events: HTTP {rep.status_code}")
            async for line in rep.aiter_lines():
                if line.startswith("event:"):
                    yield line[6:].strip()
                elif line.startswith("data:") and '"eventType"' in line:
                    with contextlib.suppress(ValueError, AttributeError):
                        yield str(json.loads(line[5:]).get("eventType", ""))

    async def aclose(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            await cancel_quietly(task)
        await self._http.aclose()
