"""Constraints on two real agents (hostnames 127.0.0.1 and 127.0.0.2, racks r1 and r2)."""

from __future__ import annotations

from typing import Any

from tests.marathon.conftest import MarathonEnv, eventually


def app(app_id: str, instances: int, *constraints: list[str]) -> dict[str, Any]:
    return {
        "id": app_id,
        "cmd": "sleep 120",
        "cpus": 0.05,
        "mem": 16,
        "instances": instances,
        "constraints": [list(c) for c in constraints],
    }


async def hosts_of(env: MarathonEnv, app_id: str) -> list[str]:
    tasks = (await env.app(app_id))["tasks"]
    return sorted(t["host"] for t in tasks if t["state"] == "TASK_RUNNING")


async def queued_reasons(env: MarathonEnv, app_id: str) -> dict[str, int] | None:
    for item in (await env.client.get("/v2/queue")).json()["queue"]:
        if item["app"]["id"] == app_id:
            summary = item["processedOffersSummary"]
            rows = summary["rejectSummaryLastOffers"]
            declined = {r["reason"]: r["declined"] for r in rows if r["declined"]}
            return declined or None
    return None


async def test_unique_hostname_spreads_over_both_agents_and_queues_the_third(
    env2: MarathonEnv,
) -> None:
    body = app("/uniq", 2, ["hostname", "UNIQUE"])
    assert (await env2.client.post("/v2/apps", json=body)).status_code == 201

    async def spread() -> list[str] | None:
        hosts = await hosts_of(env2, "/uniq")
        return hosts if len(hosts) == 2 else None

    assert await eventually(spread, timeout=30) == ["127.0.0.1", "127.0.0.2"]
    r = await env2.client.put("/v2/apps/uniq", json={"instances": 3})
    assert r.status_code == 200
    reasons = await eventually(lambda: queued_reasons(env2, "/uniq"), timeout=30)
    assert "UnfulfilledConstraint" in reasons
    queue = (await env2.client.get("/v2/queue")).json()["queue"]
    assert [q["count"] for q in queue if q["app"]["id"] == "/uniq"] == [1]
    assert await hosts_of(env2, "/uniq") == ["127.0.0.1", "127.0.0.2"]


async def test_max_per_rack_caps_instances_per_attribute_value(env2: MarathonEnv) -> None:
    body = app("/maxper", 5, ["rack", "MAX_PER", "2"])
    assert (await env2.client.post("/v2/apps", json=body)).status_code == 201

    async def four() -> list[str] | None:
        hosts = await hosts_of(env2, "/maxper")
        return hosts if len(hosts) == 4 else None

    hosts = await eventually(four, timeout=30)
    assert hosts.count("127.0.0.1") == 2 and hosts.count("127.0.0.2") == 2
    reasons = await eventually(lambda: queued_reasons(env2, "/maxper"), timeout=30)
    assert "UnfulfilledConstraint" in reasons


async def test_infeasible_constraint_stays_queued_with_its_reason(env2: MarathonEnv) -> None:
    body = app("/nowhere", 1, ["rack", "CLUSTER", "r9"])
    r = await env2.client.post("/v2/apps", json=body)
    assert r.status_code == 201
    reasons = await eventually(lambda: queued_reasons(env2, "/nowhere"), timeout=30)
    assert reasons.get("UnfulfilledConstraint", 0) >= 1
    deployments = (await env2.client.get("/v2/deployments")).json()
    assert [d["affectedApps"] for d in deployments] == [["/nowhere"]]
    assert (await env2.app("/nowhere"))["tasks"] == []


async def test_cluster_and_like_pin_instances_to_matching_agents(env2: MarathonEnv) -> None:
    body = app("/pinned", 3, ["rack", "CLUSTER", "r2"])
    assert (await env2.client.post("/v2/apps", json=body)).status_code == 201

    async def placed() -> list[str] | None:
        hosts = await hosts_of(env2, "/pinned")
        return hosts if len(hosts) == 3 else None

    assert await eventually(placed, timeout=30) == ["127.0.0.2"] * 3
    body = app("/liked", 2, ["hostname", "LIKE", r"127\.0\.0\.1"])
    assert (await env2.client.post("/v2/apps", json=body)).status_code == 201

    async def liked() -> list[str] | None:
        hosts = await hosts_of(env2, "/liked")
        return hosts if len(hosts) == 2 else None

    assert await eventually(liked, timeout=30) == ["127.0.0.1"] * 2
