"""The admin service: Prometheus and JSON metrics, health, and bad requests."""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from roost.rpc.http import Request, client, request, serve
from roost.rpc.http.admin import admin_service
from roost.rpc.service import FnService
from roost.rpc.stats import MetricsRegistry, StatsReceiver


async def test_metrics_of_real_traffic_are_served_as_prometheus_and_json() -> None:
    reg = MetricsRegistry()

    async def hello(req: Request) -> object:
        from roost.rpc.http import Response

        return Response(200, body=b"hi")

    app = await serve("127.0.0.1:0", FnService(hello), label="app", stats=StatsReceiver(reg))
    admin = await serve("127.0.0.1:0", admin_service(reg), label="admin")
    web = client(app.address, label="web", stats=StatsReceiver(reg))
    for _ in range(3):
        await web(Request("GET", "/"))
    try:
        prom = (await request(admin.address, Request("GET", "/metrics"))).body
        families = {f.name: f for f in text_string_to_metric_families(prom.decode())}
        requests = families["clnt_requests"].samples[0]
        assert requests.labels == {"client": "web"} and requests.value == 3
        flat = json.loads(
            (await request(admin.address, Request("GET", "/admin/metrics.json"))).body
        )
        assert flat["srv/app/requests"] == 3
        tree = json.loads(
            (await request(admin.address, Request("GET", "/admin/metrics/tree.json"))).body
        )
        assert tree["clnt"]["web"]["success"] == 3
    finally:
        await web.close()
        await app.close(grace=0.2)
        await admin.close(grace=0.2)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/admin/ping", 200),
        ("HEAD", "/metrics", 200),
        ("GET", "/nope", 404),
        ("POST", "/metrics", 405),
        ("DELETE", "/health", 405),
    ],
)
async def test_admin_pages_and_bad_requests(method: str, path: str, status: int) -> None:
    admin = await serve("127.0.0.1:0", admin_service(MetricsRegistry()), label="admin")
    try:
        rep = await request(admin.address, Request(method, path))
        assert rep.status == status
    finally:
        await admin.close(grace=0.2)


async def test_an_unhealthy_process_answers_503() -> None:
    admin = await serve(
        "127.0.0.1:0", admin_service(MetricsRegistry(), healthy=lambda: False), label="admin"
    )
    try:
        assert (await request(admin.address, Request("GET", "/health"))).status == 503
    finally:
        await admin.close(grace=0.2)


async def test_the_stacks_are_printed_for_the_admin_page() -> None:
    admin = await serve("127.0.0.1:0", admin_service(MetricsRegistry()), label="admin")
    try:
        rep = await request(admin.address, Request("GET", "/admin/stacks.json"))
        stacks = json.loads(rep.body)
    finally:
        await admin.close(grace=0.2)
    assert rep.status == 200
    client_roles = [m["role"] for m in stacks["client"]]
    assert client_roles[0] == "TraceInitializer" and client_roles[-1] == "LoadBalancer"
    assert [m["role"] for m in stacks["endpoint"]] == ["FailureAccrual", "RequestTimeout"]
    assert "ConcurrencyLimit" in [m["role"] for m in stacks["server"]]
    assert all(m["reason"] and m["description"] for m in stacks["client"])
    timeout = next(m for m in stacks["client"] if m["role"] == "TotalTimeout")
    assert timeout["params"] == {
        "TotalTimeout": "TotalTimeout(seconds=None)",
        "Deadlines": "Deadlines(enforce=True)",
    }
