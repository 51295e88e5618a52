"""Event constructors produce upstream shapes that the real ``marathon`` 0.13.0 client parses."""

from __future__ import annotations

import base64
import collections
import collections.abc
from collections.abc import Callable
from typing import Any

import pytest

# marathon 0.13.0 still uses ``collections.Iterable`` (reference §4.4).
collections.Iterable = collections.abc.Iterable  # type: ignore[attr-defined]

from marathon.exceptions import MarathonError  # noqa: E402
from marathon.models.deployment import MarathonDeploymentPlan  # noqa: E402
from marathon.models.events import EventFactory  # noqa: E402

from roost.marathon.events import types  # noqa: E402

TS = "2024-05-01T12:00:00.123Z"
HEALTH_CHECK = {
    "protocol": "HTTP",
    "path": "/health",
    "portIndex": 0,
    "gracePeriodSeconds": 300,
    "intervalSeconds": 60,
    "timeoutSeconds": 20,
    "maxConsecutiveFailures": 3,
    "delaySeconds": 15,
    "ignoreHttp1xx": False,
}
APP = {"id": "/web", "cmd": "sleep 100", "cpus": 0.1, "mem": 16.0, "instances": 1}
STEP = {"actions": [{"action": "StartApplication", "app": "/web"}]}
ROOT_WITH_APP = {
    "id": "/",
    "apps": [APP],
    "groups": [],
    "pods": [],
    "dependencies": [],
    "version": TS,
}
PLAN = {
    "id": "5ad5a5a4-0d7e-4e0b-9b7b-7d7e0c0a1c11",
    "version": TS,
    "steps": [STEP, {"actions": [{"action": "ScaleApplication", "app": "/web"}]}],
    "original": {
        "id": "/",
        "apps": [],
        "groups": [],
        "pods": [],
        "dependencies": [],
        "version": TS,
    },
    "target": ROOT_WITH_APP,
}

# (constructor, kwargs, client class, {client attribute: expected value})
CASES: list[tuple[Callable[..., dict[str, Any]], dict[str, Any], str, dict[str, Any]]] = [
    (
        types.api_post_event,
        {"client_ip": "10.0.0.1", "uri": "/v2/apps/web", "app_definition": APP},
        "MarathonApiPostEvent",
        {"client_ip": "10.0.0.1", "uri": "/v2/apps/web", "app_definition": APP},
    ),
    (
        types.status_update_event,
        {
            "slave_id": "a1-S0",
            "task_id": "web.1",
            "task_status": "TASK_RUNNING",
            "app_id": "/web",
            "host": "node-1",
            "ports": [31000],
            "version": TS,
            "message": "ok",
            "ip_addresses": [{"ipAddress": "10.0.0.5", "protocol": "IPv4"}],
        },
        "MarathonStatusUpdateEvent",
        {"task_status": "TASK_RUNNING", "app_id": "/web", "ports": [31000], "slave_id": "a1-S0"},
    ),
    (
        types.instance_changed_event,
        {
            "instance_id": "web.instance-1",
            "condition": "Running",
            "run_spec_id": "/web",
            "agent_id": "a1-S0",
            "host": "node-1",
            "run_spec_version": TS,
        },
        "MarathonInstanceChangedEvent",
        {"instance_id": "web.instance-1", "condition": "Running", "run_spec_id": "/web"},
    ),
    (
        types.instance_health_changed_event,
        {
            "instance_id": "web.instance-1",
            "run_spec_id": "/web",
            "run_spec_version": TS,
            "healthy": True,
        },
        "MarathonInstanceHealthChangedEvent",
        {"healthy": True, "run_spec_version": TS},
    ),
    (
        types.health_status_changed_event,
        {"app_id": "/web", "instance_id": "web.instance-1", "version": TS, "alive": True},
        "MarathonHealthStatusChangedEvent",
        {"app_id": "/web", "instance_id": "web.instance-1", "alive": True},
    ),
    (
        types.unhealthy_task_kill_event,
        {
            "app_id": "/web",
            "task_id": "web.1",
            "instance_id": "web.instance-1",
            "version": TS,
            "reason": "500 Internal Server Error",
            "host": "node-1",
            "slave_id": "a1-S0",
        },
        "MarathonUnhealthyTaskKillEvent",
        {"task_id": "web.1", "reason": "500 Internal Server Error"},
    ),
    (
        types.failed_health_check_event,
        {"app_id": "/web", "instance_id": "web.instance-1", "health_check": HEALTH_CHECK},
        "MarathonFailedHealthCheckEvent",
        {"app_id": "/web", "instance_id": "web.instance-1"},
    ),
    (
        types.add_health_check_event,
        {"app_id": "/web", "version": TS, "health_check": HEALTH_CHECK},
        "MarathonAddHealthCheckEvent",
        {"app_id": "/web", "version": TS},
    ),
    (
        types.remove_health_check_event,
        {"app_id": "/web", "health_check": HEALTH_CHECK},
        "MarathonRemoveHealthCheckEvent",
        {"app_id": "/web"},
    ),
    (
        types.app_terminated_event,
        {"app_id": "/web"},
        "MarathonAppTerminatedEvent",
        {"app_id": "/web"},
    ),
    (
        types.deployment_info,
        {"plan": PLAN, "current_step": STEP},
        "MarathonDeploymentInfo",
        {"current_step": STEP},
    ),
    (
        types.deployment_step_success,
        {"plan": PLAN, "current_step": STEP},
        "MarathonDeploymentStepSuccess",
        {},
    ),
    (
        types.deployment_step_failure,
        {"plan": PLAN, "current_step": STEP},
        "MarathonDeploymentStepFailure",
        {},
    ),
    (
        types.deployment_success,
        {"plan": PLAN},
        "MarathonDeploymentSuccess",
        {"id": PLAN["id"]},
    ),
    (
        types.deployment_failed,
        {"plan": PLAN, "reason": "cancelled"},
        "MarathonDeploymentFailed",
        {"id": PLAN["id"]},
    ),
    (
        types.group_change_success,
        {"group_id": "/prod", "version": TS},
        "MarathonGroupChangeSuccess",
        {"group_id": "/prod", "version": TS},
    ),
    (
        types.group_change_failed,
        {"group_id": "/prod", "version": TS, "reason": "boom"},
        "MarathonGroupChangeFailed",
        {"group_id": "/prod", "reason": "boom"},
    ),
    (
        types.event_stream_attached,
        {"remote_address": "127.0.0.1"},
        "MarathonEventStreamAttached",
        {"remote_address": "127.0.0.1"},
    ),
    (
        types.event_stream_detached,
        {"remote_address": "127.0.0.1"},
        "MarathonEventStreamDetached",
        {"remote_address": "127.0.0.1"},
    ),
    (
        types.framework_message_event,
        {"slave_id": "a1-S0", "executor_id": "web.1", "message": b"hello world!"},
        "MarathonFrameworkMessageEvent",
        {"executor_id": "web.1", "message": "aGVsbG8gd29ybGQh"},
    ),
]
CASE_IDS = [case[0].__name__ for case in CASES]


@pytest.mark.parametrize(("make", "kwargs", "client_class", "attrs"), CASES, ids=CASE_IDS)
def test_every_constructor_output_parses_with_the_marathon_client(
    make: Callable[..., dict[str, Any]],
    kwargs: dict[str, Any],
    client_class: str,
    attrs: dict[str, Any],
) -> None:
    event = make(timestamp=TS, **kwargs)
    parsed = EventFactory().process(event)
    assert type(parsed).__name__ == client_class
    assert parsed.event_type == event["eventType"] == make.__name__
    assert parsed.timestamp == TS
    for name, value in attrs.items():
        assert getattr(parsed, name) == value, name


@pytest.mark.parametrize(("make", "kwargs", "client_class", "attrs"), CASES, ids=CASE_IDS)
def test_every_constructor_emits_a_known_event_type_with_camel_case_keys(
    make: Callable[..., dict[str, Any]],
    kwargs: dict[str, Any],
    client_class: str,
    attrs: dict[str, Any],
) -> None:
    event = make(timestamp=TS, **kwargs)
    assert event["eventType"] in types.KNOWN_EVENT_TYPES
    assert all("_" not in key for key in event), sorted(event)


def test_known_event_types_are_exactly_what_the_client_event_factory_knows() -> None:
    client_types = set(EventFactory.event_to_class)
    assert types.KNOWN_EVENT_TYPES == client_types
    assert not any(t.startswith("scheduler_") for t in types.KNOWN_EVENT_TYPES)


def test_client_rejects_scheduler_events_which_is_why_they_are_not_known() -> None:
    with pytest.raises(MarathonError):
        EventFactory().process({"eventType": "scheduler_registered_event", "timestamp": TS})


@pytest.mark.parametrize(
    "make", [types.deployment_info, types.deployment_step_success, types.deployment_step_failure]
)
def test_deployment_plan_without_original_and_target_gets_empty_root_groups(
    make: Callable[..., dict[str, Any]],
) -> None:
    bare = {"id": "d1", "version": TS, "steps": [STEP]}
    event = make(timestamp=TS, plan=bare, current_step=STEP)
    assert event["plan"]["original"] == types.empty_root_group(TS)
    assert event["plan"]["target"] == types.empty_root_group(TS)
    parsed = EventFactory().process(event)
    assert isinstance(parsed.plan, MarathonDeploymentPlan)
    assert parsed.plan.original.id == "/"
    assert parsed.plan.steps[0].actions[0].app == "/web"


def test_raw_bare_plan_is_what_crashes_the_client() -> None:
    # The reason normalize_plan exists (reference §4.3).
    raw = {
        "eventType": "deployment_info",
        "timestamp": TS,
        "plan": {"id": "d1", "version": TS, "steps": [STEP]},
        "currentStep": STEP,
    }
    with pytest.raises(AttributeError):
        EventFactory().process(raw)


def test_plan_groups_lose_keys_the_client_would_reject() -> None:
    target = {**ROOT_WITH_APP, "enforceRole": False}
    event = types.deployment_info(timestamp=TS, plan={**PLAN, "target": target}, current_step=STEP)
    assert "enforceRole" not in event["plan"]["target"]
    assert event["plan"]["target"]["apps"] == [APP]
    assert EventFactory().process(event).plan.target.apps == [APP]


def test_plan_actions_keep_only_client_known_keys_and_steps_default_to_a_list() -> None:
    plan = {
        "id": "d1",
        "steps": [{"actions": [{"action": "StopApplication", "app": "/a", "x": 1}]}],
    }
    assert types.normalize_plan(plan, TS)["steps"] == [
        {"actions": [{"action": "StopApplication", "app": "/a"}]}
    ]
    assert types.normalize_plan({"id": "d1"}, TS)["steps"] == []
    assert types.normalize_plan({"id": "d1"}, TS)["version"] == TS


def test_normalize_plan_keeps_given_groups_and_version() -> None:
    plan = types.normalize_plan(PLAN, "2030-01-01T00:00:00.000Z")
    assert plan["version"] == TS
    assert plan["target"] == ROOT_WITH_APP
    assert plan["original"]["version"] == TS


def test_deployment_success_and_failed_carry_the_plan_id_and_reason() -> None:
    ok = types.deployment_success(timestamp=TS, plan=PLAN)
    failed = types.deployment_failed(timestamp=TS, plan=PLAN, reason="killed")
    assert ok["id"] == failed["id"] == PLAN["id"]
    assert failed["reason"] == "killed"
    assert "reason" not in types.deployment_failed(timestamp=TS, plan=PLAN)


def test_status_update_ip_addresses_default_protocol_and_drop_unknown_keys() -> None:
    event = types.status_update_event(
        timestamp=TS,
        slave_id="s",
        task_id="t",
        task_status="TASK_STAGING",
        app_id="/a",
        host="h",
        ports=(),
        version=TS,
        ip_addresses=[{"ipAddress": "10.1.1.1", "extra": "x"}],
    )
    assert event["ipAddresses"] == [{"ipAddress": "10.1.1.1", "protocol": "IPv4"}]
    assert event["message"] == "" and event["ports"] == []
    parsed = EventFactory().process(event)
    assert parsed.ip_addresses[0].ip_address == "10.1.1.1"


def test_framework_message_is_base64_of_the_bytes() -> None:
    event = types.framework_message_event(
        timestamp=TS, slave_id="s", executor_id="e", message=b"\x00\xffbin"
    )
    assert base64.b64decode(event["message"]) == b"\x00\xffbin"


def test_optional_fields_are_omitted_rather_than_null() -> None:
    assert "taskId" not in types.failed_health_check_event(
        timestamp=TS, app_id="/a", instance_id="i", health_check=HEALTH_CHECK
    )
    assert "healthCheck" not in types.remove_health_check_event(timestamp=TS, app_id="/a")


@pytest.mark.parametrize(
    "timestamp",
    ["2024-05-01T12:00:00.123Z", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123456Z"],
)
def test_timestamps_in_client_formats_are_accepted(timestamp: str) -> None:
    assert types.app_terminated_event(timestamp=timestamp, app_id="/a")["timestamp"] == timestamp


@pytest.mark.parametrize(
    "timestamp", ["2024-05-01T12:00:00+00:00", "2024-05-01 12:00:00.123Z", "", "yesterday"]
)
def test_timestamps_the_client_cannot_parse_are_refused(timestamp: str) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        types.app_terminated_event(timestamp=timestamp, app_id="/a")
