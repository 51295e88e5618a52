"""The admin dashboard in a real headless browser (chromium): router and client rows filled
from the metrics, and the dtab playground explaining a path."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from roost.mesh.app import Mesh
from roost.mesh.config import load_config
from roost.rpc.http import Headers, Request, Response, Server, request, serve
from roost.rpc.service import FnService
from roost.rpc.stats import MetricsRegistry

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"


async def hello(req: Request) -> Response:
    return Response(200, Headers(), b"hello")


@pytest.fixture
async def mesh(tmp_path: Path) -> AsyncIterator[Mesh]:
    backend: Server = await serve("127.0.0.1:0", FnService(hello), label="web")
    (tmp_path / "disco").mkdir()
    host, port = backend.address.rsplit(":", 1)
    (tmp_path / "disco" / "web").write_text(f"{host} {port}\n")
    config = load_config(
        "admin: {port: 0}\nnamers:\n- {kind: io.l5d.fs, rootDir: disco}\n"
        "routers:\n- protocol: http\n  label: edge\n  dtab: /svc => /#/io.l5d.fs\n"
        "  servers: [{port: 0}]\n"
    )
    m = Mesh(config, base_dir=tmp_path, registry=MetricsRegistry())
    await m.start()
    try:
        yield m
    finally:
        await m.stop()
        await backend.close(grace=0.2)


async def browse(url: str, profile: Path) -> str:
    """The DOM after the page's scripts ran (chromium --headless --dump-dom)."""
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        f"--user-data-dir={profile}", "--virtual-time-budget=4000", "--dump-dom", url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return out.decode()


async def test_the_dashboard_shows_routers_clients_and_explains_a_path(
    mesh: Mesh, tmp_path: Path
) -> None:
    for _ in range(7):
        rep = await request(
            mesh.servers[0].address, Request("GET", "/", Headers([("Host", "web")]))
        )
        assert rep.status == 200
    assert mesh.admin is not None
    admin = f"http://{mesh.admin.address}"
    dom = await browse(f"{admin}/", tmp_path / "profile1")
    assert '<td class="name">edge</td><td class="requests">7</td>' in dom, dom[-2000:]
    assert 'edge → /#/io.l5d.fs/web</td><td class="requests">7</td>' in dom
    assert '<td class="rate">100.00 %</td>' in dom
    dom = await browse(f"{admin}/?path=/svc/web", tmp_path / "profile2")
    assert 'id="explained"' in dom
    assert '<span class="t leaf">leaf</span> /#/io.l5d.fs/web' in dom
    assert f'<span class="bound">/#/io.l5d.fs/web</span> 127.0.0.1:{mesh_backend_port(mesh)}' in dom


def mesh_backend_port(mesh: Mesh) -> str:
    return (mesh.base_dir / "disco" / "web").read_text().split()[1]
