"""PUT/PATCH semantics, rollback bodies and the scale-versus-restart decision (reference §1.4)."""

from __future__ import annotations

from typing import Any

import pytest

from roost.marathon.appdef import (
    AppDefinition,
    AppValidationError,
    FetchUri,
    PortDefinition,
    UpgradeStrategy,
    VersionInfo,
    apply_update,
    is_rollback,
    is_scale_only,
    parse_app,
)

TS = "2015-09-29T15:59:51.164Z"
LATER = "2015-09-30T10:00:00.000Z"
CURRENT: dict[str, Any] = {
    "id": "/grp/web",
    "cmd": "python -m http.server $PORT0",
    "instances": 2,
    "cpus": 0.5,
    "labels": {"team": "a"},
    "env": {"MODE": "prod"},
    "fetch": [{"uri": "http://h/app.tgz"}],
    "healthChecks": [{"protocol": "HTTP", "path": "/health"}],
    "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.2},
    "dependencies": ["db"],
}


@pytest.fixture
def current() -> AppDefinition:
    info = VersionInfo(last_scaling_at=TS, last_config_change_at=TS)
    return parse_app(CURRENT).model_copy(update={"version": TS, "version_info": info})


def test_partial_update_changes_only_the_given_members(current: AppDefinition) -> None:
    new = apply_update(current, {"instances": 5})
    assert new.instances == 5
    assert new.model_copy(update={"instances": 2}) == current


def test_partial_update_replaces_nested_objects_whole(current: AppDefinition) -> None:
    new = apply_update(current, {"upgradeStrategy": {"minimumHealthCapacity": 0}})
    assert new.upgrade_strategy == UpgradeStrategy(
        minimum_health_capacity=0.0, maximum_over_capacity=1.0
    )
    assert apply_update(current, {"labels": {"b": "c"}}).labels == {"b": "c"}


def test_partial_update_keeps_old_values_for_null_members(current: AppDefinition) -> None:
    new = apply_update(current, {"cmd": None, "labels": None, "instances": 3})
    assert (new.cmd, new.labels, new.instances) == (current.cmd, {"team": "a"}, 3)


def test_the_bodys_id_is_ignored(current: AppDefinition) -> None:
    assert apply_update(current, {"id": "/elsewhere", "instances": 1}).id == "/grp/web"
    assert apply_update(current, {"id": "/x", "cmd": "true"}, partial=False).id == "/grp/web"


def test_version_fields_are_carried_over_for_the_caller_to_set(current: AppDefinition) -> None:
    new = apply_update(current, {"cmd": "sleep 1", "versionInfo": {"lastScalingAt": LATER}})
    assert (new.version, new.version_info) == (current.version, current.version_info)
    assert apply_update(current, {"cmd": "sleep 1"}, partial=False).version == TS


@pytest.mark.parametrize(
    ("update", "member", "expected"),
    [
        ({"ports": [8080]}, "port_definitions", [PortDefinition(port=8080)]),
        ({"uris": ["http://h/run.sh"]}, "fetch", [FetchUri(uri="http://h/run.sh", extract=False)]),
        ({"args": ["sleep", "1"]}, "cmd", None),
        ({"dependencies": ["cache"]}, "dependencies", ["/grp/cache"]),
    ],
)
def test_partial_update_members_replace_what_they_exclude(
    current: AppDefinition, update: dict[str, Any], member: str, expected: Any
) -> None:
    assert getattr(apply_update(current, update), member) == expected


def test_new_health_checks_are_normalized_against_the_kept_ports(current: AppDefinition) -> None:
    new = apply_update(current, {"healthChecks": [{"protocol": "TCP"}]})
    assert [(c.protocol, c.port_index, c.path) for c in new.health_checks] == [("TCP", 0, None)]


def test_args_replace_cmd_and_cmd_replaces_args(current: AppDefinition) -> None:
    with_args = apply_update(current, {"args": ["sleep", "1"]})
    assert (with_args.cmd, with_args.args) == (None, ["sleep", "1"])
    back = apply_update(with_args, {"cmd": "sleep 2"})
    assert (back.cmd, back.args) == ("sleep 2", None)


def test_switching_to_bridge_networking_drops_host_port_definitions(current: AppDefinition) -> None:
    update = {
        "networks": [{"mode": "container/bridge"}],
        "container": {
            "docker": {"image": "nginx"},
            "portMappings": [{"containerPort": 80, "name": "http"}],
        },
    }
    new = apply_update(current, update)
    assert new.port_definitions == []
    assert new.container is not None and new.container["type"] == "DOCKER"


def test_full_replace_reapplies_defaults_and_keeps_the_id(current: AppDefinition) -> None:
    new = apply_update(current, {"cmd": "sleep 1"}, partial=False)
    assert new == parse_app({"id": "/grp/web", "cmd": "sleep 1"}).model_copy(
        update={"version": current.version, "version_info": current.version_info}
    )
    assert (new.instances, new.labels, new.fetch, new.health_checks) == (1, {}, [], [])


def test_full_replace_without_a_command_is_invalid(current: AppDefinition) -> None:
    with pytest.raises(AppValidationError) as info:
        apply_update(current, {"instances": 3}, partial=False)
    assert info.value.status == 422
    assert info.value.details[0]["path"] == "/"


@pytest.mark.parametrize(
    ("update", "status", "details"),
    [
        ({"cpus": -1}, 422, [{"path": "/cpus", "errors": ["is less than 0"]}]),
        ({"cpus": "1"}, 400, [{"path": "/cpus", "errors": ["error.expected.jsnumber"]}]),
        ({"colour": "red"}, 422, [{"path": "/colour", "errors": ["unknown property"]}]),
        ([{"instances": 1}], 400, [{"path": "/", "errors": ["error.expected.jsobject"]}]),
        (
            {"version": TS, "instances": 3},
            422,
            [
                {
                    "path": "/",
                    "errors": ["The 'version' field may only be combined with the 'id' field."],
                }
            ],
        ),
        (
            {"constraints": [["hostname", "UNIQUE", "x"]]},
            422,
            [{"path": "/constraints(0)", "errors": ["Value specified but not used"]}],
        ),
    ],
)
def test_invalid_updates_are_rejected_like_invalid_definitions(
    current: AppDefinition, update: object, status: int, details: list[dict[str, Any]]
) -> None:
    with pytest.raises(AppValidationError) as info:
        apply_update(current, update)
    assert (info.value.status, info.value.details) == (status, details)


def test_update_errors_carry_the_callers_path_prefix(current: AppDefinition) -> None:
    with pytest.raises(AppValidationError) as info:
        apply_update(current, {"mem": -5}, path="/apps(1)")
    assert info.value.details == [{"path": "/apps(1)/mem", "errors": ["is less than 0"]}]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"version": TS}, TS),
        ({"version": TS, "id": "/grp/web"}, TS),
        ({"version": TS, "cmd": None}, TS),
        ({"version": TS, "instances": 1}, None),
        ({"instances": 1}, None),
        ({"version": 5}, None),
        ({}, None),
        ([{"version": TS}], None),
        (None, None),
    ],
)
def test_is_rollback_recognizes_a_version_only_body(raw: object, expected: str | None) -> None:
    assert is_rollback(raw) == expected


@pytest.mark.parametrize(
    ("update", "scale_only"),
    [
        ({"instances": 10}, True),
        ({"instances": 0}, True),
        ({}, True),
        ({"cmd": "sleep 1"}, False),
        ({"instances": 10, "cpus": 1}, False),
        ({"labels": {"team": "b"}}, False),
        ({"env": {}}, False),
        ({"healthChecks": []}, False),
        ({"upgradeStrategy": {"minimumHealthCapacity": 1}}, False),
    ],
)
def test_is_scale_only_ignores_instances_and_versions_only(
    current: AppDefinition, update: dict[str, Any], scale_only: bool
) -> None:
    assert is_scale_only(current, apply_update(current, update)) is scale_only


def test_a_new_version_alone_is_still_scale_only(current: AppDefinition) -> None:
    info = VersionInfo(last_scaling_at=LATER, last_config_change_at=TS)
    new = current.model_copy(update={"instances": 7, "version": LATER, "version_info": info})
    assert is_scale_only(current, new)
    assert not is_scale_only(current, new.model_copy(update={"mem": 64.0}))
