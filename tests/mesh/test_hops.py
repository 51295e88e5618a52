"""A router's edge, as Linkerd's: ``Via`` on requests and responses, the call depth that
stops proxy loops, ``clearContext`` both ways and ``l5d-success-class`` (unit tables, then a
real Mesh on loopback with roost.rpc backends)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path as FilePath

import pytest

from roost.mesh.app import Mesh
from roost.mesh.hops import append_via, call_depth, server_classifier
from roost.rpc.classifier import ResponseClass
from roost.rpc.errors import ChannelClosed
from roost.rpc.http import Headers, Request, Response, Server, request, serve
from roost.rpc.service import FnService
from tests.mesh.meshkit import free_port, metrics, start_mesh


@pytest.mark.parametrize(
    ("via", "depth"),
    [
        ([], 0),
        (["1.1 linkerd"], 1),
        (["1.1 a, 1.1 b,1.0 c"], 3),
        (["1.1 a", "1.1 b, 1.1 c"], 3),
    ],
)
def test_call_depth_counts_every_hop(via: list[str], depth: int) -> None:
    assert call_depth(Headers([("Via", v) for v in via])) == depth


@pytest.mark.parametrize(
    ("via", "after"),
    [
        ([], "1.1 linkerd"),
        (["1.0 squid"], "1.0 squid, 1.1 linkerd"),
        (["1.1 a", "1.1 b"], "1.1 a, 1.1 b, 1.1 linkerd"),
    ],
)
def test_via_appends_one_hop(via: list[str], after: str) -> None:
    headers = Headers([("Via", v) for v in via])
    append_via(headers, "1.1 linkerd")
    assert headers.get_all("via") == [after]


@pytest.mark.parametrize(
    ("status", "header", "expected"),
    [
        (200, None, ResponseClass.SUCCESS),
        (503, None, ResponseClass.NON_RETRYABLE_FAILURE),
        (500, "1.0", ResponseClass.SUCCESS),
        (500, "0.5", ResponseClass.SUCCESS),
        (200, "0.0", ResponseClass.NON_RETRYABLE_FAILURE),
        (200, "0", ResponseClass.NON_RETRYABLE_FAILURE),
        (200, "lots", ResponseClass.NON_RETRYABLE_FAILURE),
    ],
)
def test_the_server_believes_l5d_success_class(
    status: int, header: str | None, expected: ResponseClass
) -> None:
    headers = Headers([("l5d-success-class", header)] if header is not None else [])
    rep = Response(status, headers, b"")
    assert server_classifier(Request("GET", "/"), rep) is expected


def test_an_exception_is_a_failure_for_the_server() -> None:
    result = server_classifier(Request("GET", "/"), ChannelClosed("gone"))
    assert result.is_failure


# -- through a real mesh --------------------------------------------------------------------


class Backend:
    def __init__(self) -> None:
        self.seen: list[Request] = []
        self.server: Server | None = None

    async def handle(self, req: Request) -> Response:
        self.seen.append(req)
        status = 500 if req.path == "/fail" else 200
        return Response(status, Headers([("l5d-backend", "x"), ("Via", "1.1 app")]), b"hi")


@pytest.fixture
async def backend() -> AsyncIterator[tuple[Backend, str]]:
    b = Backend()
    b.server = await serve("127.0.0.1:0", FnService(b.handle), label="backend")
    try:
        yield b, b.server.address
    finally:
        await b.server.close(grace=0.5)


async def send(m: Mesh, path: str = "/", *headers: tuple[str, str]) -> Response:
    req = Request("GET", path, Headers([("Host", "web"), *headers]))
    return await request(m.servers[0].address, req)


@pytest.mark.slow
async def test_via_and_success_class_on_a_routed_request(
    tmp_path: FilePath, backend: tuple[Backend, str]
) -> None:
    b, address = backend
    host, port = address.rsplit(":", 1)
    m = await start_mesh(
        tmp_path,
        f"admin: {{port: 0}}\nrouters:\n- protocol: http\n  label: edge\n"
        f"  dtab: /svc => /$/inet/{host}/{port}\n  servers: [{{port: 0}}]\n",
    )
    try:
        rep = await send(m, "/", ("Via", "1.0 squid"))
        assert rep.status == 200
        assert b.seen[-1].headers.get_all("via") == ["1.0 squid, 1.1 linkerd"]
        assert rep.headers.get_all("via") == ["1.1 app, 1.1 linkerd"]
        assert rep.headers["l5d-success-class"] == "1.0"
        assert rep.headers["l5d-backend"] == "x"  # kept: this server trusts its callers
        failed = await send(m, "/fail")
        assert failed.status == 500 and failed.headers["l5d-success-class"] == "0.0"
        unroutable = await send(m, "/", ("l5d-dtab", "/svc =>"))  # a bad dtab: 400
        assert unroutable.status == 400
        assert unroutable.headers["l5d-success-class"] == "0.0"
        assert unroutable.headers["via"] == "1.1 linkerd"
        seen = await metrics(m)
        server = next(k for k in seen if k.startswith("rt/edge/server/") and k.endswith("/success"))
        prefix = server.removesuffix("/success")
        assert seen[f"{prefix}/success"] == 1
        assert seen[f"{prefix}/failures"] == 2  # the 500 and the 400, as the service counted
        assert seen["rt/edge/service/svc/web/failures"] == 1
    finally:
        await m.stop()


@pytest.mark.slow
async def test_max_call_depth(tmp_path: FilePath, backend: tuple[Backend, str]) -> None:
    b, address = backend
    host, port = address.rsplit(":", 1)
    m = await start_mesh(
        tmp_path,
        f"routers:\n- protocol: http\n  dtab: /svc => /$/inet/{host}/{port}\n"
        "  servers: [{port: 0, maxCallDepth: 3}]\nadmin: {port: 0}\n",
    )
    try:
        three = await send(m, "/", ("Via", "1.1 a, 1.1 b"), ("Via", "1.1 c"))
        assert three.status == 200 and len(b.seen) == 1
        four = await send(m, "/", ("Via", "1.1 a, 1.1 b, 1.1 c, 1.1 d"))
        text = "Maximum number of calls (3) has been exceeded. Please check for proxy loops."
        assert four.status == 400 and four.body.decode().strip() == text
        assert four.headers["l5d-err"].startswith("Maximum+number+of+calls+%283%29")
        assert len(b.seen) == 1  # never sent on
        assert (await send(m, "/")).status == 200  # and the router goes on serving
    finally:
        await m.stop()


@pytest.mark.slow
async def test_a_proxy_loop_ends_in_a_400(tmp_path: FilePath) -> None:
    port = free_port()
    m = await start_mesh(
        tmp_path,
        f"routers:\n- protocol: http\n  dtab: /svc => /$/inet/127.0.0.1/{port}\n"
        f"  servers: [{{port: {port}, maxCallDepth: 5}}]\nadmin: {{port: 0}}\n",
    )
    try:
        rep = await send(m, "/")
        # the sixth hop refuses; each router on the way back passes the answer on
        assert rep.status == 400
        assert "Maximum number of calls (5) has been exceeded" in rep.body.decode()
        assert rep.headers["via"].count("linkerd") == 7
    finally:
        await m.stop()


@pytest.mark.slow
async def test_clear_context_strips_l5d_headers_both_ways_and_error_bodies(
    tmp_path: FilePath, backend: tuple[Backend, str]
) -> None:
    b, address = backend
    host, port = address.rsplit(":", 1)
    m = await start_mesh(
        tmp_path,
        f"routers:\n- protocol: http\n  dtab: /svc/web => /$/inet/{host}/{port}\n"
        "  servers: [{port: 0, clearContext: true}]\nadmin: {port: 0}\n",
    )
    try:
        rep = await send(
            m, "/", ("l5d-dtab", "/svc/web => /$/fail"), ("l5d-ctx-thing", "x"), ("x-app", "y")
        )
        assert rep.status == 200  # the caller's dtab was dropped, not obeyed
        names = {k.lower() for k, _ in b.seen[-1].headers}
        assert "x-app" in names and "l5d-ctx-thing" not in names and "l5d-dtab" not in names
        assert "l5d-dst-service" in names  # what the router itself adds still goes on
        assert not [k for k, _ in rep.headers if k.lower().startswith("l5d-")]
        assert rep.body == b"hi"
        lost = await request(
            m.servers[0].address, Request("GET", "/", Headers([("Host", "nowhere")]))
        )
        assert lost.status == 502 and lost.body == b""
        assert not [k for k, _ in lost.headers if k.lower().startswith("l5d-")]
    finally:
        await m.stop()
