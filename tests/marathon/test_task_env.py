from __future__ import annotations

from typing import Any

import pytest

from roost.marathon.appdef import AppDefinition, parse_app
from roost.marathon.task_env import (
    env_name,
    labels_env,
    mesos_environment,
    scala_double,
    task_environment,
)

VERSION = "2015-09-29T15:59:51.164Z"
TASK = "hello2.62d0f03f-79aa-11e6-a1a0-660c139c5e15"


def make_app(**raw: Any) -> AppDefinition:
    return parse_app({"id": "hello2", "cmd": "echo hello; sleep 10", "version": VERSION, **raw})


def env_of(app: AppDefinition, ports: list[int], **kw: Any) -> dict[str, str]:
    return task_environment(app, task_id=TASK, host="agent-1.example.com", host_ports=ports, **kw)


def test_the_curl_example_gets_marathons_environment() -> None:
    # reference §9.1: {"id":"hello2","mem":16,"cpus":0.1,"disk":0.0,"ports":[0]}
    app = make_app(mem=16, cpus=0.1, disk=0.0, ports=[0])
    assert env_of(app, [31005]) == {
        "PORT0": "31005",
        "PORT": "31005",
        "PORTS": "31005",
        "PORT_31005": "31005",
        "HOST": "agent-1.example.com",
        "MESOS_TASK_ID": TASK,
        "MARATHON_APP_ID": "/hello2",
        "MARATHON_APP_VERSION": VERSION,
        "MARATHON_APP_RESOURCE_CPUS": "0.1",
        "MARATHON_APP_RESOURCE_MEM": "16.0",
        "MARATHON_APP_RESOURCE_DISK": "0.0",
        "MARATHON_APP_RESOURCE_GPUS": "0",
        "MARATHON_APP_LABELS": "",
    }


def test_every_port_gets_an_index_variable_and_ports_lists_them_in_order() -> None:
    app = make_app(portDefinitions=[{"port": 0}, {"port": 0}, {"port": 0}])
    env = env_of(app, [31000, 31007, 31003])
    assert [env["PORT0"], env["PORT1"], env["PORT2"]] == ["31000", "31007", "31003"]
    assert env["PORT"] == "31000"
    assert env["PORTS"] == "31000,31007,31003"


@pytest.mark.parametrize(
    ("definitions", "host_ports", "expected"),
    [
        # a requested (service) port names the variable; 0 means "use the assigned port"
        ([{"port": 80}], [31005], {"PORT_80": "31005"}),
        ([{"port": 0}], [31005], {"PORT_31005": "31005"}),
        (
            [{"port": 10000}, {"port": 0}],
            [31001, 31002],
            {"PORT_10000": "31001", "PORT_31002": "31002"},
        ),
        # requirePorts: the caller passes the requested ports as host ports
        ([{"port": 8080}], [8080], {"PORT_8080": "8080"}),
    ],
)
def test_port_variables_are_named_after_the_requested_port(
    definitions: list[dict[str, Any]], host_ports: list[int], expected: dict[str, str]
) -> None:
    env = env_of(make_app(portDefinitions=definitions), host_ports)
    assert {k: v for k, v in env.items() if k.startswith("PORT_")} == expected


@pytest.mark.parametrize(
    ("name", "variable"),
    [
        ("http", "PORT_HTTP"),
        ("default", "PORT_DEFAULT"),
        ("http-api", "PORT_HTTP_API"),
        ("admin.v2", "PORT_ADMIN_V2"),
        ("a--b", "PORT_A_B"),
    ],
)
def test_named_ports_get_an_upper_cased_sanitized_variable(name: str, variable: str) -> None:
    app = make_app(portDefinitions=[{"port": 0}, {"port": 0, "name": name}])
    env = env_of(app, [31000, 31001])
    assert env[variable] == "31001"


def test_an_app_without_ports_gets_no_port_variables_at_all() -> None:
    env = env_of(make_app(portDefinitions=[]), [])
    assert not [k for k in env if k.startswith("PORT")]
    assert env["HOST"] == "agent-1.example.com"


def test_an_app_without_port_definitions_gets_the_default_named_port() -> None:
    env = env_of(make_app(), [31234])
    assert env["PORT_DEFAULT"] == "31234"
    assert env["PORT_31234"] == "31234"


def test_container_port_mappings_name_the_variables_when_there_are_no_port_definitions() -> None:
    container = {
        "type": "DOCKER",
        "docker": {"image": "nginx:1.9.3"},
        "portMappings": [
            {"containerPort": 80, "hostPort": 0, "name": "web"},
            {"containerPort": 0, "hostPort": 0},
        ],
    }
    app = make_app(portDefinitions=[], container=container, networks=[{"mode": "container/bridge"}])
    env = env_of(app, [31001, 31002])
    assert env["PORT_80"] == "31001"
    assert env["PORT_31002"] == "31002"
    assert env["PORT_WEB"] == "31001"
    assert env["MARATHON_APP_DOCKER_IMAGE"] == "nginx:1.9.3"


def test_the_prefix_goes_only_on_port_and_host_variables() -> None:
    app = make_app(portDefinitions=[{"port": 80, "name": "http"}], labels={"team": "a"})
    env = env_of(app, [31005], prefix="MARATHON_")
    assert {k for k in env if k.startswith("MARATHON_") and "APP" not in k} == {
        "MARATHON_PORT0",
        "MARATHON_PORT",
        "MARATHON_PORTS",
        "MARATHON_PORT_80",
        "MARATHON_PORT_HTTP",
        "MARATHON_HOST",
    }
    assert "PORT0" not in env and "HOST" not in env
    assert env["MESOS_TASK_ID"] == TASK
    assert env["MARATHON_APP_LABEL_TEAM"] == "a"


def test_user_env_overrides_every_generated_variable() -> None:
    app = make_app(
        env={"PORT0": "8080", "HOST": "0.0.0.0", "MARATHON_APP_ID": "/other", "EXTRA": "1"}
    )
    env = env_of(app, [31005])
    assert env["PORT0"] == "8080"
    assert env["HOST"] == "0.0.0.0"
    assert env["MARATHON_APP_ID"] == "/other"
    assert env["EXTRA"] == "1"
    assert env["PORTS"] == "31005"


def test_secret_references_in_user_env_are_left_out() -> None:
    app = make_app(env={"DB_PASSWORD": {"secret": "db"}, "MODE": "prod"})
    env = env_of(app, [31005])
    assert "DB_PASSWORD" not in env
    assert env["MODE"] == "prod"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.1, "0.1"),
        (16, "16.0"),
        (16.0, "16.0"),
        (0.0, "0.0"),
        (1.0, "1.0"),
        (128.0, "128.0"),
        (0.001, "0.001"),
        (1234567.5, "1234567.5"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (0.0001, "1.0E-4"),
        (0.00025, "2.5E-4"),
        (1.5e20, "1.5E20"),
        (-2.0, "-2.0"),
    ],
)
def test_resources_are_printed_like_scala_double_to_string(value: float, text: str) -> None:
    assert scala_double(value) == text


def test_resource_variables_use_scala_double_format_and_gpus_an_integer() -> None:
    env = env_of(make_app(cpus=2, mem=1024.5, disk=0.0, gpus=1), [1])
    assert env["MARATHON_APP_RESOURCE_CPUS"] == "2.0"
    assert env["MARATHON_APP_RESOURCE_MEM"] == "1024.5"
    assert env["MARATHON_APP_RESOURCE_DISK"] == "0.0"
    assert env["MARATHON_APP_RESOURCE_GPUS"] == "1"


def test_labels_become_sanitized_upper_cased_variables() -> None:
    app = make_app(labels={"HAPROXY_GROUP": "external", "traefik.enable": "true", "a-b c": "x"})
    env = env_of(app, [31005])
    assert env["MARATHON_APP_LABELS"] == "HAPROXY_GROUP TRAEFIK_ENABLE A_B_C"
    assert env["MARATHON_APP_LABEL_HAPROXY_GROUP"] == "external"
    assert env["MARATHON_APP_LABEL_TRAEFIK_ENABLE"] == "true"
    assert env["MARATHON_APP_LABEL_A_B_C"] == "x"


@pytest.mark.parametrize(
    ("key_len", "value_len", "kept"),
    [
        (492, 1, True),
        (493, 1, False),  # 19 ("MARATHON_APP_LABEL_") + 493 would reach 512
        (1, 511, True),
        (1, 512, False),
    ],
)
def test_labels_too_long_for_an_environment_variable_are_skipped(
    key_len: int, value_len: int, kept: bool
) -> None:
    key, value = "k" * key_len, "v" * value_len
    env = labels_env({key: value, "small": "ok"})
    assert (f"MARATHON_APP_LABEL_{key.upper()}" in env) is kept
    assert env["MARATHON_APP_LABELS"] == (f"{key.upper()} SMALL" if kept else "SMALL")
    assert env["MARATHON_APP_LABEL_SMALL"] == "ok"


def test_env_name_collapses_runs_of_other_characters() -> None:
    assert env_name("a.-b__c") == "A_B__C"


def test_mesos_environment_lists_variables_sorted_by_name() -> None:
    assert mesos_environment({"b": "2", "A": "1", "a": "3"}) == {
        "variables": [
            {"name": "A", "value": "1"},
            {"name": "a", "value": "3"},
            {"name": "b", "value": "2"},
        ]
    }
    assert mesos_environment({}) == {"variables": []}


def test_an_app_not_yet_stored_has_no_version_variable() -> None:
    app = make_app().model_copy(update={"version": None})
    assert "MARATHON_APP_VERSION" not in env_of(app, [31005])
