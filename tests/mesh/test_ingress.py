"""The Marathon ingress identifier: Host -> app by HAPROXY_{n}_VHOST / traefik labels, then
through the Marathon namer to a real task, against real roost master, agent and marathon."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path as FilePath
from typing import Any

import httpx
import pytest

from roost.mesh.app import Mesh
from roost.mesh.config import load_config
from roost.mesh.ingress import MarathonIngressIdentifier, vhost_table
from roost.naming import Path
from roost.rpc.http import Headers, Request
from roost.rpc.stats import MetricsRegistry
from tests.marathon.conftest import MarathonEnv, eventually, start_env, stop_env


def test_the_vhost_table_reads_marathon_lb_and_traefik_labels() -> None:
    apps: list[dict[str, Any]] = [
        {"id": "/prod/web", "labels": {"HAPROXY_0_VHOST": "Web.Example.com, www.example.com"}},
        {"id": "/api", "labels": {"traefik.frontend.rule": "Host:api.example.com"}},
        {"id": "/quiet", "labels": {"HAPROXY_GROUP": "external"}},
        {"id": "/other", "labels": {"traefik.frontend.rule": "PathPrefix:/x"}},
    ]
    assert vhost_table(apps) == {
        "web.example.com": Path.read("/prod/web"),
        "www.example.com": Path.read("/prod/web"),
        "api.example.com": Path.read("/api"),
    }


def test_the_identifier_matches_the_host_without_its_port() -> None:
    identify = MarathonIngressIdentifier("http://127.0.0.1:1")
    identify.table = {"web.example.com": Path.read("/prod/web")}
    found = identify(Request("GET", "/", Headers([("Host", "WEB.example.com:8080")])))
    assert getattr(found, "dst", None) == Path.read("/svc/prod/web")
    missing = identify(Request("GET", "/", Headers([("Host", "nope.example.com")])))
    assert "no Marathon app has the virtual host" in getattr(missing, "reason", "")


@pytest.fixture
async def env(tmp_path: FilePath) -> AsyncIterator[MarathonEnv]:
    e = await start_env(tmp_path)
    try:
        yield e
    finally:
        await stop_env(e)


@pytest.mark.slow
async def test_a_request_for_a_vhost_reaches_the_apps_task(env: MarathonEnv) -> None:
    app = {
        "id": "/web",
        "cmd": "python3 -m http.server $PORT0 --bind 127.0.0.1",
        "cpus": 0.1,
        "mem": 64,
        "instances": 1,
        "ports": [0],
        "labels": {"HAPROXY_0_VHOST": "web.example.com"},
    }
    assert (await env.client.post("/v2/apps", json=app)).status_code == 201

    async def running() -> bool:
        return bool((await env.app("/web"))["tasksRunning"] == 1)

    await eventually(running, timeout=30)
    host, port = env.url.removeprefix("http://").rsplit(":", 1)
    config = load_config(
        f"""
admin: {{port: 0}}
namers:
- {{kind: io.l5d.marathon, host: {host}, port: {port}, ttlMs: 500}}
routers:
- protocol: http
  label: edge
  dtab: /svc => /#/io.l5d.marathon
  servers: [{{port: 0}}]
  identifier: {{kind: io.roost.marathonIngress, host: {host}, port: {port}, ttlMs: 500}}
"""
    )
    mesh = Mesh(config, base_dir=env.tmp, registry=MetricsRegistry())
    await mesh.start()
    try:
        url = f"http://{mesh.servers[0].address}/"
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(timeout=5) as c:
            while True:  # the task's http.server needs a moment to listen
                rep = await c.get(url, headers={"Host": "web.example.com"})
                if rep.status_code == 200:
                    break
                assert time.monotonic() < deadline, rep.text
                await asyncio.sleep(0.2)
            assert "Directory listing" in rep.text
            other = await c.get(url, headers={"Host": "nope.example.com"})
            assert other.status_code == 400 and "no Marathon app" in other.text
    finally:
        await mesh.stop()
