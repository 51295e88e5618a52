"""Deployment plans: which steps a change makes, their order, and the plan's JSON shapes.

Upstream: ``DeploymentPlan`` and ``docs/docs/deployments.md``; shapes from reference §1.6.
"""

from __future__ import annotations

import collections
import collections.abc
import json
from typing import Any

import pytest

# marathon 0.13.0 still uses ``collections.Iterable`` (reference §4.4).
collections.Iterable = collections.abc.Iterable  # type: ignore[attr-defined]

from marathon.models.deployment import MarathonDeployment  # type: ignore[import-untyped]  # noqa: E402

from roost.marathon.appdef import AppDefinition, VersionInfo, app_json, parse_app  # noqa: E402
from roost.marathon.deployment import Action, DeploymentPlan, build_plan  # noqa: E402
from roost.marathon.deployment.plan import RESTART, SCALE, START, STOP  # noqa: E402

V1 = "2024-01-01T00:00:00.000Z"
V2 = "2024-01-02T00:00:00.000Z"


def app(app_id: str = "/web", *, version: str = V1, **body: Any) -> AppDefinition:
    """A stored app: parsed from Marathon JSON with a version, as ``Operations`` stores it."""
    parsed = parse_app({"id": app_id, "cmd": "sleep 100", **body})
    info = VersionInfo(last_scaling_at=version, last_config_change_at=version)
    return parsed.model_copy(update={"version": version, "version_info": info})


Apps = dict[str, AppDefinition | None]


def steps(plan: DeploymentPlan) -> list[list[tuple[str, str]]]:
    return [[(a.action, a.app_id) for a in step] for step in plan.steps]


def plan_of(original: Apps, target: Apps, **kw: Any) -> DeploymentPlan:
    return build_plan("dep-1", V2, original, target, **kw)


# -- which steps ------------------------------------------------------------------------------


def test_a_new_app_is_started_then_scaled() -> None:
    plan = plan_of({"/web": None}, {"/web": app(instances=3)})
    assert steps(plan) == [[(START, "/web")], [(SCALE, "/web")]]


def test_a_change_of_instances_only_is_a_scale() -> None:
    plan = plan_of({"/web": app(instances=1)}, {"/web": app(instances=5, version=V2)})
    assert steps(plan) == [[(SCALE, "/web")]]


@pytest.mark.parametrize(
    "change",
    [{"cmd": "sleep 200"}, {"mem": 64}, {"env": {"A": "1"}}, {"instances": 4, "cpus": 0.5}],
    ids=["cmd", "mem", "env", "instances-and-cpus"],
)
def test_any_other_change_is_a_restart(change: dict[str, Any]) -> None:
    plan = plan_of({"/web": app()}, {"/web": app(version=V2, **change)})
    assert steps(plan) == [[(RESTART, "/web")]]


def test_a_restart_request_restarts_an_unchanged_app() -> None:
    same = app()
    plan = plan_of({"/web": same}, {"/web": same}, restart=frozenset({"/web"}))
    assert steps(plan) == [[(RESTART, "/web")]]


def test_an_unchanged_app_makes_no_step() -> None:
    assert plan_of({"/web": app()}, {"/web": app(version=V2)}).steps == []


def test_a_deleted_app_is_stopped() -> None:
    plan = plan_of({"/web": app()}, {"/web": None})
    assert steps(plan) == [[(STOP, "/web")]]


def test_an_app_absent_from_both_sides_makes_no_step() -> None:
    assert plan_of({"/web": None}, {"/web": None}).steps == []


def test_independent_apps_share_a_step() -> None:
    plan = plan_of({"/a": app("/a"), "/b": app("/b")}, {"/a": app("/a", instances=2), "/b": None})
    assert steps(plan) == [[(STOP, "/b")], [(SCALE, "/a")]]


# -- dependencies -----------------------------------------------------------------------------

CHAIN = {
    "/db": app("/db"),
    "/api": app("/api", dependencies=["/db"]),
    "/web": app("/web", dependencies=["/api"]),
}


def test_new_apps_start_together_then_scale_dependencies_first() -> None:
    plan = plan_of(dict.fromkeys(CHAIN), dict(CHAIN))
    assert steps(plan) == [
        [(START, "/api"), (START, "/db"), (START, "/web")],
        [(SCALE, "/db")],
        [(SCALE, "/api")],
        [(SCALE, "/web")],
    ]


def test_restarts_run_dependencies_first() -> None:
    target = {k: a.model_copy(update={"cmd": "sleep 5"}) for k, a in CHAIN.items()}
    plan = plan_of(dict(CHAIN), dict(target))
    assert steps(plan) == [[(RESTART, "/db")], [(RESTART, "/api")], [(RESTART, "/web")]]


def test_stops_run_dependents_first() -> None:
    plan = plan_of(dict(CHAIN), dict.fromkeys(CHAIN))
    assert steps(plan) == [[(STOP, "/web")], [(STOP, "/api")], [(STOP, "/db")]]


def test_apps_at_the_same_dependency_depth_share_a_step() -> None:
    apps = {
        "/db": app("/db"),
        "/api": app("/api", dependencies=["/db"]),
        "/worker": app("/worker", dependencies=["/db"]),
    }
    target = {k: a.model_copy(update={"instances": 2}) for k, a in apps.items()}
    plan = plan_of(dict(apps), dict(target))
    assert steps(plan) == [[(SCALE, "/db")], [(SCALE, "/api"), (SCALE, "/worker")]]


def test_a_dependency_outside_the_change_does_not_order_anything() -> None:
    apps = {"/api": app("/api", dependencies=["/db"]), "/web": app("/web")}
    target = {k: a.model_copy(update={"instances": 2}) for k, a in apps.items()}
    plan = plan_of(dict(apps), dict(target))
    assert steps(plan) == [[(SCALE, "/api"), (SCALE, "/web")]]


def test_stops_come_before_starts_and_changes() -> None:
    plan = plan_of(
        {"/old": app("/old"), "/new": None, "/web": app()},
        {"/old": None, "/new": app("/new"), "/web": app(cmd="sleep 1")},
    )
    assert steps(plan) == [
        [(STOP, "/old")],
        [(START, "/new")],
        [(SCALE, "/new"), (RESTART, "/web")],
    ]


def test_a_dependency_cycle_still_makes_a_plan_with_every_app() -> None:
    apps = {"/a": app("/a", dependencies=["/b"]), "/b": app("/b", dependencies=["/a"])}
    plan = plan_of(dict.fromkeys(apps), dict(apps))
    assert plan.affected_apps == ["/a", "/b"]
    assert sorted(a.app_id for step in plan.steps[1:] for a in step) == ["/a", "/b"]


# -- api_json (GET /v2/deployments, reference §1.6) ----------------------------------------


def test_api_json_has_exactly_the_upstream_shape() -> None:
    plan = plan_of({"/foo": app("/foo")}, {"/foo": app("/foo", instances=4)})
    assert plan.api_json() == {
        "id": "dep-1",
        "version": V2,
        "affectedApps": ["/foo"],
        "affectedPods": [],
        "steps": [{"actions": [{"action": "ScaleApplication", "app": "/foo"}]}],
        "currentActions": [
            {"action": "ScaleApplication", "app": "/foo", "readinessCheckResults": []}
        ],
        "currentStep": 1,
        "totalSteps": 1,
    }


def test_api_json_current_step_is_one_based_and_follows_the_plan() -> None:
    plan = plan_of({"/web": None}, {"/web": app()})
    assert (plan.api_json()["currentStep"], plan.api_json()["totalSteps"]) == (1, 2)
    assert plan.api_json()["currentActions"][0]["action"] == START
    plan.current_step = 1
    assert plan.api_json()["currentStep"] == 2
    assert plan.api_json()["currentActions"][0]["action"] == SCALE
    plan.current_step = 2  # finished
    assert (plan.api_json()["currentStep"], plan.api_json()["currentActions"]) == (2, [])


def test_api_json_is_accepted_by_the_marathon_client() -> None:
    plan = plan_of(dict.fromkeys(CHAIN), dict(CHAIN))
    parsed = MarathonDeployment.from_json(plan.api_json())
    assert parsed.id == "dep-1"
    assert parsed.affected_apps == ["/api", "/db", "/web"]
    assert len(parsed.steps) == 4


def test_affected_apps_are_sorted_and_unique() -> None:
    plan = plan_of({"/b": None, "/a": None}, {"/b": app("/b"), "/a": app("/a")})
    assert plan.affected_apps == ["/a", "/b"]


# -- event_plan and records ---------------------------------------------------------------------


def test_event_plan_carries_original_and_target_groups() -> None:
    new = app(instances=2)
    plan = plan_of({"/web": None}, {"/web": new})
    event = plan.event_plan()
    assert (event["id"], event["version"]) == ("dep-1", V2)
    assert event["steps"] == [
        {"actions": [{"action": START, "app": "/web"}]},
        {"actions": [{"action": SCALE, "app": "/web"}]},
    ]
    assert event["original"] == {
        "id": "/",
        "apps": [],
        "groups": [],
        "pods": [],
        "dependencies": [],
        "version": V2,
    }
    assert event["target"]["id"] == "/"
    assert event["target"]["apps"] == [app_json(new)]


def test_event_plan_of_a_delete_has_the_app_only_in_the_original() -> None:
    gone = app()
    event = plan_of({"/web": gone}, {"/web": None}).event_plan()
    assert event["original"]["apps"] == [app_json(gone)]
    assert event["target"]["apps"] == []


def test_a_plan_survives_a_round_trip_through_its_json_record() -> None:
    plan = plan_of(
        {"/old": app("/old"), "/new": None, "/web": app()},
        {"/old": None, "/new": app("/new", version=V2), "/web": app(cmd="x", version=V2)},
    )
    plan.current_step = 2
    plan.rollback_of = "dep-0"
    record = json.loads(json.dumps(plan.to_record()))
    back = DeploymentPlan.from_record(record)
    assert back == plan
    assert back.target["/web"] is not None
    assert back.target["/web"].version_info == plan.target["/web"].version_info  # type: ignore[union-attr]
    assert back.api_json() == plan.api_json()


def test_a_record_without_progress_fields_starts_at_the_first_step() -> None:
    record = plan_of({"/web": None}, {"/web": app()}).to_record()
    del record["currentStep"], record["rollbackOf"]
    back = DeploymentPlan.from_record(record)
    assert (back.current_step, back.rollback_of) == (0, None)
    assert back.steps == [[Action(START, "/web")], [Action(SCALE, "/web")]]
