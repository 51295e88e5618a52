"""A router whose dtab lives in namerd (interpreter io.l5d.namerd.http): a dtab change in
namerd reaches the router's routing within a second, without a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path as FilePath

import httpx
import pytest

from roost.mesh.app import Mesh
from roost.mesh.config import load_config
from roost.mesh.namerd_interpreter import NamerdDtabWatcher
from roost.namerd.server import NamerdServer
from roost.rpc.http import Headers, Request, Response, Server, request, serve
from roost.rpc.service import FnService
from roost.rpc.stats import MetricsRegistry

pytestmark = pytest.mark.slow
DTAB = {"Content-Type": "application/dtab"}


def answer(name: str) -> FnService[Request, Response]:
    async def handle(req: Request) -> Response:
        return Response(200, Headers(), name.encode())

    return FnService(handle)


@pytest.fixture
async def setup(tmp_path: FilePath) -> AsyncIterator[tuple[Mesh, httpx.AsyncClient]]:
    backends: list[Server] = []
    (tmp_path / "disco").mkdir()
    for name in ("web", "web-v2"):
        server = await serve("127.0.0.1:0", answer(name), label=name)
        backends.append(server)
        host, port = server.address.rsplit(":", 1)
        (tmp_path / "disco" / name).write_text(f"{host} {port}\n")
    namerd = NamerdServer("memory://", port=0)
    await namerd.start()
    api = httpx.AsyncClient(base_url=namerd.url, timeout=5)
    assert (
        await api.put("/api/1/dtabs/default", content="/svc => /#/io.l5d.fs", headers=DTAB)
    ).status_code == 204
    config = load_config(
        f"""
admin: {{port: 0}}
namers:
- {{kind: io.l5d.fs, rootDir: disco}}
routers:
- protocol: http
  servers: [{{port: 0}}]
  interpreter:
    kind: io.l5d.namerd.http
    dst: /$/inet/127.0.0.1/{namerd.port}
    namespace: default
"""
    )
    mesh = Mesh(config, base_dir=tmp_path, registry=MetricsRegistry())
    await mesh.start()
    await asyncio.wait_for(mesh.watchers[0].first.wait(), 5)
    try:
        yield mesh, api
    finally:
        await mesh.stop()
        await api.aclose()
        await namerd.stop()
        for server in backends:
            await server.close(grace=0.5)


async def body(mesh: Mesh) -> bytes:
    rep = await request(mesh.servers[0].address, Request("GET", "/", Headers([("Host", "web")])))
    return rep.body if isinstance(rep.body, bytes) else b""


async def test_a_dtab_change_in_namerd_reroutes_within_a_second(
    setup: tuple[Mesh, httpx.AsyncClient],
) -> None:
    mesh, api = setup
    assert await body(mesh) == b"web"
    new = "/svc => /#/io.l5d.fs ; /svc/web => /#/io.l5d.fs/web-v2"
    assert (await api.put("/api/1/dtabs/default", content=new, headers=DTAB)).status_code == 204
    changed_at = time.monotonic()
    while await body(mesh) != b"web-v2":
        assert time.monotonic() - changed_at < 1.0, "the router did not pick the dtab up in 1 s"
        await asyncio.sleep(0.02)
    assert mesh.watchers[0].updates == 2


async def test_the_router_keeps_its_dtab_while_namerd_is_away(
    setup: tuple[Mesh, httpx.AsyncClient],
) -> None:
    mesh, _ = setup
    await mesh.watchers[0].aclose()  # the stream to namerd is gone; nothing answers now
    router = mesh.routers[0]
    gone = NamerdDtabWatcher("http://127.0.0.1:9", "default", router.set_base, min_backoff=0.05)
    gone.start()
    try:
        deadline = time.monotonic() + 5
        while gone.failures < 2:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        assert await body(mesh) == b"web"  # still routing with the last dtab
    finally:
        await gone.aclose()
