"""Classified retries per logical name, as Linkerd's: always on (the default budget, no
backoff), retrying what the name's ``responseClassifier`` calls retryable, counted as
``service/<name>/retries/…``; and the ``backoff`` config's kinds."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path as FilePath

import pytest

from roost.mesh.clients import backoff_of
from roost.mesh.config_parts import ConstantBackoff, JitteredBackoff
from roost.rpc.http import Headers, Request, Response, Server, request, serve
from roost.rpc.service import FnService
from tests.mesh.meshkit import metrics, start_mesh

pytestmark = pytest.mark.slow


class Flaky:
    """Answers 500 to the first ``failures`` requests, then 200."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.server: Server | None = None

    async def handle(self, req: Request) -> Response:
        self.calls += 1
        status = 500 if self.calls <= self.failures else 200
        return Response(status, Headers(), b"")


@pytest.fixture
async def flaky() -> AsyncIterator[Flaky]:
    f = Flaky(failures=1)
    f.server = await serve("127.0.0.1:0", FnService(f.handle))
    try:
        yield f
    finally:
        await f.server.close(grace=0.5)


def router(flaky: Flaky, service: str = "") -> str:
    assert flaky.server is not None
    host, port = flaky.server.address.rsplit(":", 1)
    return (
        f"admin: {{port: 0}}\nrouters:\n- protocol: http\n  label: r\n"
        f"  dtab: /svc => /$/inet/{host}/{port}\n  servers: [{{port: 0}}]\n{service}"
    )


async def get(m: object, method: str = "GET") -> Response:
    servers = m.servers  # type: ignore[attr-defined]
    return await request(servers[0].address, Request(method, "/", Headers([("Host", "web")])))


@pytest.mark.parametrize(
    ("classifier", "method", "calls", "status"),
    [
        ("io.l5d.http.retryableRead5XX", "GET", 2, 200),  # retried without a retries block
        ("io.l5d.http.retryableRead5XX", "POST", 1, 500),  # not a read
        ("io.l5d.http.nonRetryable5XX", "GET", 1, 500),  # the default: never
        ("io.l5d.http.retryableAll5XX", "POST", 2, 200),
    ],
)
async def test_retries_follow_the_classifier(
    tmp_path: FilePath, flaky: Flaky, classifier: str, method: str, calls: int, status: int
) -> None:
    m = await start_mesh(
        tmp_path, router(flaky, f"  service: {{responseClassifier: {{kind: {classifier}}}}}\n")
    )
    try:
        rep = await get(m, method)
        assert rep.status == status and flaky.calls == calls
        seen = await metrics(m)
        assert seen["rt/r/service/svc/web/retries/total"] == calls - 1
        assert seen["rt/r/service/svc/web/retries/per_request.count"] == 1
    finally:
        await m.stop()


async def test_an_exhausted_budget_stops_retrying(tmp_path: FilePath, flaky: Flaky) -> None:
    flaky.failures = 1_000
    service = (
        "  service:\n    responseClassifier: {kind: io.l5d.http.retryableRead5XX}\n"
        "    retries: {budget: {minRetriesPerSec: 0, percentCanRetry: 0.0}}\n"
    )
    m = await start_mesh(tmp_path, router(flaky, service))
    try:
        assert (await get(m)).status == 500
        assert flaky.calls == 1  # nothing in the budget: no retry
        seen = await metrics(m)
        assert seen["rt/r/service/svc/web/retries/budget_exhausted"] == 1
        assert seen["rt/r/service/svc/web/retries/total"] == 0
    finally:
        await m.stop()


def test_jittered_backoff_is_decorrelated() -> None:
    jittered = backoff_of(JitteredBackoff(kind="jittered", minMs=10, maxMs=1000))
    assert jittered is not None and "decorrelated_jittered(0.01, 1.0)" in repr(jittered)
    delays = jittered.take(8)
    assert delays[0] == 0.01
    assert all(b >= a and b <= min(3 * a, 1.0) for a, b in itertools.pairwise(delays))
    constant = backoff_of(ConstantBackoff(kind="constant", ms=50))
    assert constant is not None and constant.take(3) == [0.05, 0.05, 0.05]
    assert backoff_of(None) is None
