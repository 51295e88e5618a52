"""The router end to end on loopback: real roost.rpc backends, an io.l5d.fs directory, a
Mesh started from Linkerd YAML; routing by Host, per-request l5d-dtab overrides, weighted
splits, Linkerd's error answers and the admin pages."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path as FilePath

import httpx
import pytest

from roost.mesh.app import Mesh
from roost.mesh.config import load_config
from roost.rpc.http import Headers, Request, Response, Server, request, serve
from roost.rpc.service import FnService
from roost.rpc.stats import MetricsRegistry

pytestmark = pytest.mark.slow


class Backend:
    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: list[Request] = []
        self.server: Server | None = None

    async def handle(self, req: Request) -> Response:
        self.seen.append(req)
        return Response(200, Headers([("x-backend", self.name)]), self.name.encode())


@pytest.fixture
async def mesh(tmp_path: FilePath) -> AsyncIterator[tuple[Mesh, dict[str, Backend]]]:
    backends = {name: Backend(name) for name in ("web", "web-v2")}
    disco = tmp_path / "disco"
    disco.mkdir()
    for b in backends.values():
        b.server = await serve("127.0.0.1:0", FnService(b.handle), label=b.name)
        host, port = b.server.address.rsplit(":", 1)
        (disco / b.name).write_text(f"{host} {port}\n")
    config = load_config(
        """
admin: {port: 0}
namers:
- kind: io.l5d.fs
  rootDir: disco
routers:
- protocol: http
  label: edge
  dtab: /svc => /#/io.l5d.fs
  servers: [{port: 0}]
"""
    )
    m = Mesh(config, base_dir=tmp_path, registry=MetricsRegistry(), raw_config={"routers": []})
    await m.start()
    try:
        yield m, backends
    finally:
        await m.stop()
        for b in backends.values():
            assert b.server is not None
            await b.server.close(grace=0.5)


async def send(m: Mesh, host: str, **headers: str) -> Response:
    req = Request("GET", "/hello", Headers([("Host", host), *headers.items()]))
    return await request(m.servers[0].address, req)


async def test_a_request_is_routed_by_host_with_the_destination_headers(
    mesh: tuple[Mesh, dict[str, Backend]],
) -> None:
    m, backends = mesh
    rep = await send(m, "web")
    assert rep.status == 200 and rep.body == b"web"
    seen = backends["web"].seen[-1]
    assert seen.headers["l5d-dst-service"] == "/svc/web"
    assert seen.headers["l5d-dst-client"] == "/#/io.l5d.fs/web"
    assert seen.target == "/hello" and seen.headers["host"] == "web"


async def test_l5d_dtab_overrides_one_request_and_travels_on_as_context(
    mesh: tuple[Mesh, dict[str, Backend]],
) -> None:
    m, backends = mesh
    rep = await send(m, "web", **{"l5d-dtab": "/svc/web => /#/io.l5d.fs/web-v2"})
    assert rep.body == b"web-v2"
    seen = backends["web-v2"].seen[-1]
    assert seen.headers.get("l5d-dtab") is None
    assert seen.headers["l5d-ctx-dtab"] == "/svc/web=>/#/io.l5d.fs/web-v2"
    assert (await send(m, "web")).body == b"web"  # the next request is routed as before


async def test_a_weighted_dtab_splits_traffic(mesh: tuple[Mesh, dict[str, Backend]]) -> None:
    m, _ = mesh
    split = "/svc/web => 9 * /#/io.l5d.fs/web & 1 * /#/io.l5d.fs/web-v2"
    counts: Counter[bytes] = Counter()
    for _ in range(500):
        counts[(await send(m, "web", **{"l5d-dtab": split})).body] += 1
    assert 0.05 <= counts[b"web-v2"] / 500 <= 0.15  # 10 % of the requests, give or take


async def test_linkerds_error_answers(mesh: tuple[Mesh, dict[str, Backend]]) -> None:
    m, _ = mesh
    rep = await send(m, "nope")
    assert rep.status == 502
    assert rep.body.decode().startswith(
        "No hosts are available for /svc/nope, Dtab.base=[/svc=>/#/io.l5d.fs], Dtab.local=[]"
    )
    assert rep.headers["l5d-err"].startswith("No+hosts+are+available")
    bad = await send(m, "web", **{"l5d-dtab": "/svc =>"})
    assert bad.status == 400 and "Invalid l5d-dtab header" in bad.body.decode()
    assert (await send(m, "web")).status == 200  # and the router keeps serving


async def test_the_admin_pages(mesh: tuple[Mesh, dict[str, Backend]]) -> None:
    m, _ = mesh
    assert (await send(m, "web")).status == 200
    assert m.admin is not None
    admin = m.admin.address
    assert (await request(admin, Request("GET", "/admin/ping"))).body == b"pong"
    metrics = json.loads((await request(admin, Request("GET", "/admin/metrics.json"))).body)
    assert metrics["rt/edge/service/svc/web/requests"] >= 1
    assert metrics["rt/edge/client/#/io.l5d.fs/web/requests"] >= 1
    assert metrics["rt/edge/client/#/io.l5d.fs/web/service/svc/web/success"] >= 1
    connections = [k for k in metrics if k.startswith("rt/edge/server/127.0.0.1/")]
    assert [k for k in connections if k.endswith("/0/connections")]  # (port 0: as configured)
    assert any(k.startswith("rt/edge/server/127.0.0.1/") for k in metrics)
    explained = json.loads(
        (await request(admin, Request("GET", "/delegator.json?path=/svc/web"))).body
    )
    assert explained["type"] == "delegate" and explained["delegate"]["type"] == "leaf"
    names = json.loads((await request(admin, Request("GET", "/bound-names.json"))).body)
    assert names == ["/#/io.l5d.fs/web", "/#/io.l5d.fs/web-v2"]  # the files, used or not
    prom = (await request(admin, Request("GET", "/admin/metrics/prometheus"))).body.decode()
    assert 'rt:service:requests{rt="edge", service="/svc/web"} ' in prom


async def test_metrics_json_params_and_the_delegator_namespace(
    mesh: tuple[Mesh, dict[str, Backend]],
) -> None:
    m, _ = mesh
    assert (await send(m, "web")).status == 200
    assert m.admin is not None
    admin = m.admin.address

    async def page(target: str) -> Response:
        return await request(admin, Request("GET", target))

    flat = json.loads((await page("/admin/metrics.json?q=rt/edge/service")).body)
    assert flat and all(k.startswith("rt/edge/service/") for k in flat)
    assert flat["rt/edge/service/svc/web/requests"] == 1
    tree = json.loads((await page("/admin/metrics.json?tree=1&q=rt/edge/service/svc/web")).body)
    assert tree["requests"] == 1 and tree["request_latency_ms"]["count"] == 1
    assert json.loads((await page("/admin/metrics.json?tree=1&q=rt/nowhere")).body) == {}
    whole = json.loads((await page("/admin/metrics.json?tree=true")).body)
    assert whole["rt"]["edge"]["service"]["svc"]["web"]["requests"] == 1
    pretty = (await page("/admin/metrics.json?pretty=1&q=rt/edge/service")).body.decode()
    assert pretty.startswith("{\n  ") and json.loads(pretty) == flat
    explained = await page("/delegator.json?path=/svc/web&namespace=edge")
    assert json.loads(explained.body)["type"] == "delegate"
    unknown = await page("/delegator.json?path=/svc/web&namespace=nope")
    assert unknown.status == 404 and "no router labelled 'nope'" in unknown.body.decode()


async def test_a_discovery_outage_keeps_traffic_on_the_last_known_endpoints(
    mesh: tuple[Mesh, dict[str, Backend]],
) -> None:
    m, _ = mesh
    assert (await send(m, "web")).body == b"web"
    fs = m._namers[0]
    disco = fs.root / "web"
    disco.write_text("this is not an endpoint list\n")  # discovery breaks
    fs.refresh()
    for _ in range(5):
        assert (await send(m, "web")).body == b"web"
    disco.unlink()
    disco.mkdir()  # and cannot even be read (a directory where the file was)
    fs.refresh()
    assert (await send(m, "web")).body == b"web"
    disco.rmdir()


async def test_max_concurrent_requests_sheds_load_with_503(tmp_path: FilePath) -> None:
    release, entered = asyncio.Event(), asyncio.Event()

    async def slow(req: Request) -> Response:
        entered.set()
        await release.wait()
        return Response(200, Headers(), b"slow")

    backend = await serve("127.0.0.1:0", FnService(slow), label="slow")
    (tmp_path / "disco").mkdir()
    host, port = backend.address.rsplit(":", 1)
    (tmp_path / "disco" / "slow").write_text(f"{host} {port}\n")
    config = load_config(
        "admin: {port: 0}\nnamers:\n- {kind: io.l5d.fs, rootDir: disco}\n"
        "routers:\n- protocol: http\n  dtab: /svc => /#/io.l5d.fs\n"
        "  servers: [{port: 0, maxConcurrentRequests: 1}]\n"
    )
    m = Mesh(config, base_dir=tmp_path, registry=MetricsRegistry())
    await m.start()
    try:
        url = f"http://{m.servers[0].address}/"
        async with httpx.AsyncClient(headers={"Host": "slow"}, timeout=10) as plain:
            first = asyncio.create_task(plain.get(url))
            await asyncio.wait_for(entered.wait(), 5)  # the first request holds the only slot
            shed = await plain.get(url)  # a plain HTTP client sees the NACK as it is
            assert shed.status_code == 503 and "finagle-http-nack" in shed.headers
            release.set()
            assert (await first).status_code == 200
    finally:
        await m.stop()
        await backend.close(grace=0.5)
