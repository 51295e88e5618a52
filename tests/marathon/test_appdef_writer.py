"""``app_json`` writes only what the ``marathon`` 0.13.0 client accepts (reference §4.3).

The client builds ``MarathonApp(**snake_case(json))`` with no ``**kwargs``, so the real
client model is the judge: a rich app must load without raising.
"""

from __future__ import annotations

import collections
import collections.abc
import inspect
import json
from typing import Any

import pytest

from roost.marathon.appdef import AppDefinition, PortDefinition, VersionInfo, app_json, parse_app
from roost.marathon.appdef.writer import APP_KEYS

# marathon 0.13.0 still uses collections.Iterable, gone since Python 3.10 (reference §4.4)
collections.Iterable = collections.abc.Iterable  # type: ignore[attr-defined]

from marathon.models import MarathonApp  # noqa: E402
from marathon.util import to_snake_case  # noqa: E402

TS = "2015-09-29T15:59:51.164Z"
RICH: dict[str, Any] = {
    "id": "/prod/web",
    "cmd": "python -m http.server $PORT0",
    "cpus": 0.25,
    "mem": 64,
    "disk": 10,
    "gpus": 0,
    "instances": 3,
    "portDefinitions": [
        {"port": 10001, "name": "http", "protocol": "tcp", "labels": {"VIP_0": "web:80"}},
        {"port": 0, "protocol": "udp"},
    ],
    "requirePorts": False,
    "env": {"MODE": "prod", "DB_PASSWORD": {"secret": "db"}},
    "labels": {"HAPROXY_GROUP": "external", "HAPROXY_0_VHOST": "web.example.com"},
    "constraints": [["hostname", "UNIQUE"], ["rack", "GROUP_BY", "2"], ["zone", "LIKE", "a.*"]],
    "healthChecks": [
        {"protocol": "HTTP", "path": "/health", "portIndex": 0, "ignoreHttp1xx": True},
        {"protocol": "TCP", "port": 10001},
        {"protocol": "COMMAND", "command": {"value": "curl -f localhost:$PORT0"}},
    ],
    "readinessChecks": [{"portName": "http", "httpStatusCodesForReady": [200, 204]}],
    "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.25},
    "backoffSeconds": 2,
    "backoffFactor": 1.5,
    "maxLaunchDelaySeconds": 120,
    "killSelection": "OLDEST_FIRST",
    "taskKillGracePeriodSeconds": 5,
    "fetch": [{"uri": "http://h/app.tgz"}, {"uri": "http://h/run.sh", "executable": True}],
    "user": "nobody",
    "dependencies": ["/prod/db"],
    "acceptedResourceRoles": ["*"],
    "role": "web",
    "version": TS,
    "versionInfo": {"lastScalingAt": TS, "lastConfigChangeAt": TS},
}
DOCKER_APP: dict[str, Any] = {
    "id": "/prod/nginx",
    "networks": [{"mode": "container/bridge"}],
    "container": {
        "type": "DOCKER",
        "docker": {"image": "nginx", "forcePullImage": True, "parameters": []},
        "portMappings": [
            {"containerPort": 80, "hostPort": 0, "name": "http", "networkNames": ["bridge"]}
        ],
        "volumes": [{"containerPath": "/data", "hostPath": "/srv", "mode": "RO"}],
    },
}


def load_in_client(js: dict[str, Any]) -> MarathonApp:
    # through real JSON text, as the client receives it
    return MarathonApp.from_json(json.loads(json.dumps(js)))


def client_keys() -> set[str]:
    return set(inspect.signature(MarathonApp.__init__).parameters) - {"self"}


def test_every_key_the_writer_may_emit_is_a_client_constructor_argument() -> None:
    assert {to_snake_case(k) for k in APP_KEYS} <= client_keys()


@pytest.mark.parametrize(
    "raw", [RICH, DOCKER_APP, {"id": "x", "cmd": "y"}], ids=["rich", "docker", "minimal"]
)
def test_the_real_client_model_loads_app_json(raw: dict[str, Any]) -> None:
    app = parse_app(raw)
    js = app_json(app)
    assert set(js) <= APP_KEYS
    client_app = load_in_client(js)
    assert client_app.id == app.id
    assert json.loads(client_app.to_json())["id"] == app.id


def test_the_client_sees_the_rich_apps_values() -> None:
    client_app = load_in_client(app_json(parse_app(RICH)))
    assert (client_app.cpus, client_app.mem, client_app.instances) == (0.25, 64.0, 3)
    assert [c.json_repr() for c in client_app.constraints] == RICH["constraints"]
    assert client_app.upgrade_strategy.minimum_health_capacity == 0.5
    assert [p.port for p in client_app.port_definitions] == [10001, 0]
    assert [h.protocol for h in client_app.health_checks] == ["HTTP", "TCP", "COMMAND"]
    assert client_app.readiness_checks[0].port_name == "http"
    assert client_app.version_info.last_scaling_at.year == 2015
    assert client_app.kill_selection == "OLDEST_FIRST"


def test_resources_are_floats_and_gpus_an_integer() -> None:
    js = app_json(parse_app({"id": "x", "cmd": "y", "cpus": 1, "mem": 16, "disk": 0, "gpus": 2}))
    assert (js["cpus"], js["mem"], js["disk"], js["gpus"]) == (1.0, 16.0, 0.0, 2)
    assert [type(js[k]) for k in ("cpus", "mem", "disk", "gpus", "instances")] == [
        float,
        float,
        float,
        int,
        int,
    ]
    assert (js["backoffSeconds"], js["maxLaunchDelaySeconds"], js["backoffFactor"]) == (
        1,
        300,
        1.15,
    )


def test_resources_set_by_model_copy_are_still_written_as_floats() -> None:
    # model_copy does not validate, so callers can leave ints in float fields
    app = parse_app({"id": "x", "cmd": "y"}).model_copy(update={"cpus": 2, "mem": 64, "disk": 1})
    js = app_json(app)
    assert [(js[k], type(js[k])) for k in ("cpus", "mem", "disk")] == [
        (2.0, float),
        (64.0, float),
        (1.0, float),
    ]


@pytest.mark.parametrize(
    "forbidden",
    ["ports", "uris", "tty", "check", "executorResources", "resourceLimits", "unreachableStrategy"],
)
def test_keys_the_client_rejects_or_roost_drops_are_never_written(forbidden: str) -> None:
    raw = {
        "id": "x",
        "cmd": "y",
        "ports": [0],
        "uris": ["http://h/a"],
        "tty": True,
        "check": {},
        "executorResources": {"cpus": 1},
        "resourceLimits": {},
        "unreachableStrategy": "disabled",
    }
    assert forbidden not in app_json(parse_app(raw))


def test_unset_optional_members_are_omitted_not_null() -> None:
    js = app_json(parse_app({"id": "x", "cmd": "y"}))
    assert None not in js.values()
    for absent in ("args", "user", "role", "version", "versionInfo", "container"):
        assert absent not in js
    assert "taskKillGracePeriodSeconds" not in js and "acceptedResourceRoles" not in js
    assert js["portDefinitions"] == [
        {"port": 0, "protocol": "tcp", "name": "default", "labels": {}}
    ]


def test_version_and_version_info_are_written_when_set() -> None:
    app = parse_app({"id": "x", "cmd": "y"}).model_copy(
        update={
            "version": TS,
            "version_info": VersionInfo(last_scaling_at=TS, last_config_change_at=TS),
        }
    )
    js = app_json(app)
    assert js["version"] == TS
    assert js["versionInfo"] == {"lastScalingAt": TS, "lastConfigChangeAt": TS}


def test_assigned_service_ports_are_written_as_stored() -> None:
    app = parse_app({"id": "x", "cmd": "y", "ports": [0, 0]})
    assigned = [PortDefinition(port=10000), PortDefinition(port=10001, name="admin")]
    js = app_json(app.model_copy(update={"port_definitions": assigned}))
    assert [(p["port"], p.get("name")) for p in js["portDefinitions"]] == [
        (10000, None),
        (10001, "admin"),
    ]


def test_container_members_the_client_cannot_read_are_dropped() -> None:
    container = app_json(parse_app(DOCKER_APP))["container"]
    assert container["portMappings"] == [{"containerPort": 80, "hostPort": 0, "name": "http"}]
    assert container["docker"] == {"image": "nginx", "forcePullImage": True, "parameters": []}


@pytest.mark.parametrize(
    "raw", [RICH, DOCKER_APP, {"id": "x", "cmd": "y"}], ids=["rich", "docker", "minimal"]
)
def test_app_json_parses_back_to_the_same_app(raw: dict[str, Any]) -> None:
    app = parse_app(raw)
    again = parse_app(app_json(app))
    if app.container is not None:  # networkNames is not client-readable, so not written
        again = again.model_copy(update={"container": app.container})
    assert again == app


def test_a_directly_built_app_is_written_like_a_parsed_one() -> None:
    assert app_json(AppDefinition(id="/x", cmd="y")) == app_json(parse_app({"id": "x", "cmd": "y"}))
