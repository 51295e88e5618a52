"""The edge (the marathon-lb / Traefik role): name a request by its ``Host`` from the labels
of Marathon apps.

``identifier: {kind: io.roost.marathonIngress, host: marathon.mesos, port: 8080}`` routes
``Host: web.example.com`` to ``/svc/<app id>`` when an app carries
``HAPROXY_{n}_VHOST: web.example.com`` (marathon-lb; several hosts separated by commas) or
``traefik.frontend.rule: Host:web.example.com`` (Traefik 1; hosts separated by commas). The
host is matched without its port, case-insensitively. Pair it with
``dtab: /svc => /#/io.l5d.marathon`` so the name reaches the app's tasks.

The vhost table is read from ``GET /v2/apps`` now and every ``ttl`` seconds; when Marathon
cannot be asked the last table stays.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from roost.core.aio import cancel_quietly
from roost.mesh.identifiers import DEFAULT_PREFIX, Identification, Identified, Unidentified
from roost.naming import NamingSyntaxError, Path
from roost.rpc.http import Request

log = logging.getLogger(__name__)

_HAPROXY_VHOST = re.compile(r"HAPROXY_(\d+)_VHOST")


def vhosts_of(app: dict[str, Any]) -> list[str]:
    """The virtual hosts an app's labels ask for (lower-cased)."""
    labels = app.get("labels") or {}
    hosts: list[str] = []
    for key, value in labels.items():
        if not isinstance(value, str):
            continue
        if _HAPROXY_VHOST.fullmatch(key):
            hosts += value.split(",")
        elif key == "traefik.frontend.rule" and value.startswith("Host:"):
            hosts += value[len("Host:") :].split(",")
    return [h.strip().lower() for h in hosts if h.strip()]


def vhost_table(apps: list[dict[str, Any]]) -> dict[str, Path]:
    table: dict[str, Path] = {}
    for app in apps:
        try:
            app_id = Path.read(str(app["id"]).lower())
        except (KeyError, NamingSyntaxError):
            continue
        for host in vhosts_of(app):
            table.setdefault(host, app_id)
    return table


class MarathonIngressIdentifier:
    def __init__(
        self, url: str, *, prefix: Path = DEFAULT_PREFIX, ttl: float = 5.0, timeout: float = 5.0
    ) -> None:
        self.url = url.rstrip("/")
        self.prefix = prefix
        self.ttl = ttl
        self.timeout = timeout
        self.table: dict[str, Path] = {}
        self.refreshes = 0
        self.failures = 0
        self._task: asyncio.Task[None] | None = None

    def __call__(self, req: Request) -> Identification:
        host = (req.headers.get("host") or "").lower()
        if host.count(":") == 1:
            host = host.split(":", 1)[0]
        app = self.table.get(host)
        if app is None:
            return Unidentified(f"no Marathon app has the virtual host {host!r}")
        return Identified(self.prefix + app, req)

    async def refresh(self) -> None:
        import httpx  # only an ingress needs it: not loaded into every mesh

        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                rep = await client.get(f"{self.url}/v2/apps")
            rep.raise_for_status()
            apps = rep.json()["apps"]
            if not isinstance(apps, list):
                raise ValueError("'apps' is not a list")
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            self.failures += 1
            log.warning("marathon ingress: %s (keeping the last vhosts)", exc)
            return
        self.refreshes += 1
        self.table = vhost_table(apps)

    async def start(self) -> None:
        await self.refresh()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.ttl)
            await self.refresh()

    async def aclose(self) -> None:
        task, self._task = self._task, None
        await cancel_quietly(task)
