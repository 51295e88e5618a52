"""Parsing app bodies: JSON types (400), unknown keys (422), defaults and normalization.

Normalization follows upstream ``AppNormalization`` and reference §2.1/§9.1: absolute
ids, ``ports`` -> ``portDefinitions``, ``uris`` -> ``fetch``, health check defaults,
upper-cased constraint operators, absolute dependencies, the pre-1.5 container shape.
"""

from __future__ import annotations

import copy
from typing import Any

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roost.marathon.appdef import (
    AppDefinition,
    AppValidationError,
    FetchUri,
    HealthCheckDef,
    PortDefinition,
    UpgradeStrategy,
    app_json,
    parse_app,
)

BASE: dict[str, Any] = {"id": "/app", "cmd": "sleep 100"}
DROP = object()  # marks a key of BASE to remove
UNKNOWN, STRING, NUMBER = "unknown property", "error.expected.jsstring", "error.expected.jsnumber"
MISSING = "error.path.missing"
CURL_EXAMPLE = {
    "id": "hello2",
    "cmd": "echo hello; sleep 10",
    "mem": 16,
    "cpus": 0.1,
    "instances": 1,
    "disk": 0.0,
    "ports": [0],
}


def body(**changes: Any) -> dict[str, Any]:
    out = {**BASE, **changes}
    return {k: v for k, v in out.items() if v is not DROP}


def case(name: str, status: int, path: str, message: str, raw: object = None, **kw: Any) -> Any:
    return pytest.param(body(**kw) if raw is None else raw, status, path, message, id=name)


REJECTED = [
    # unknown properties (422) at every level
    case("unknown top-level key", 422, "/colour", UNKNOWN, colour="blue"),
    case("unknown check key", 422, "/healthChecks(0)/bogus", UNKNOWN, healthChecks=[{"bogus": 1}]),
    case(
        "unknown port definition key",
        422,
        "/portDefinitions(0)/hostPort",
        UNKNOWN,
        portDefinitions=[{"port": 0, "hostPort": 1}],
    ),
    case(
        "unknown readiness key",
        422,
        "/readinessChecks(0)/x",
        UNKNOWN,
        portDefinitions=[{"port": 0, "name": "http-api"}],
        readinessChecks=[{"x": 1}],
    ),
    case(
        "unknown strategy key",
        422,
        "/upgradeStrategy/batchSize",
        UNKNOWN,
        upgradeStrategy={"batchSize": 1},
    ),
    case(
        "unknown fetch key", 422, "/fetch(0)/md5", UNKNOWN, fetch=[{"uri": "http://x", "md5": "0"}]
    ),
    case("unknown secret key", 422, "/env/A/x", UNKNOWN, env={"A": {"secret": "s", "x": 1}}),
    case("unknown network key", 422, "/networks(0)/cidr", UNKNOWN, networks=[{"cidr": "x"}]),
    case(
        "unknown container key",
        422,
        "/container/docker/imagePull",
        UNKNOWN,
        container={"docker": {"image": "x", "imagePull": True}},
    ),
    # wrong JSON types (400, Play-JSON codes)
    case("body not an object", 400, "/", "error.expected.jsobject", ["app"]),
    case("string body", 400, "/", "error.expected.jsobject", "app"),
    case("missing id", 400, "/id", MISSING, id=DROP),
    case("null id", 400, "/id", STRING, id=None),
    case("numeric id", 400, "/id", STRING, id=5),
    case("string cpus", 400, "/cpus", NUMBER, cpus="1"),
    case("boolean cpus", 400, "/cpus", NUMBER, cpus=True),
    case("not-a-number mem", 400, "/mem", NUMBER, mem=float("nan")),
    case("infinite disk", 400, "/disk", NUMBER, disk=float("inf")),
    case("fractional instances", 400, "/instances", "error.expected.int", instances=1.5),
    case("huge instances", 400, "/instances", "error.expected.int", instances=2**40),
    case("400-digit instances", 400, "/instances", "error.expected.int", instances=10**400),
    case("400-digit cpus", 400, "/cpus", NUMBER, cpus=10**400),
    case("boolean gpus", 400, "/gpus", NUMBER, gpus=False),
    case("object cmd", 400, "/cmd", STRING, cmd={"value": "x"}),
    case("string args", 400, "/args", "error.expected.jsarray", cmd=DROP, args="sleep 1"),
    case("number in args", 400, "/args(1)", STRING, cmd=DROP, args=["sleep", 1]),
    case("string requirePorts", 400, "/requirePorts", "error.expected.jsboolean", requirePorts="y"),
    case("list strategy", 400, "/upgradeStrategy", "error.expected.jsobject", upgradeStrategy=[]),
    case("numeric env value", 400, "/env/PORT", STRING, env={"PORT": 8080}),
    case("numeric secret name", 400, "/env/A/secret", STRING, env={"A": {"secret": 1}}),
    case("secret without name", 400, "/env/A/secret", MISSING, env={"A": {}}),
    case("numeric label", 400, "/labels/a", STRING, labels={"a": 1}),
    case("fetch without uri", 400, "/fetch(0)/uri", MISSING, fetch=[{"cache": True}]),
    case("bool in constraint", 400, "/constraints(0)(1)", STRING, constraints=[["h", True]]),
    case("string constraints", 400, "/constraints", "error.expected.jsarray", constraints="x"),
    case(
        "string port index",
        400,
        "/healthChecks(0)/portIndex",
        NUMBER,
        healthChecks=[{"portIndex": "0"}],
    ),
    case(
        "half a version info",
        400,
        "/versionInfo/lastConfigChangeAt",
        MISSING,
        versionInfo={"lastScalingAt": "2015-09-29T15:59:51.164Z"},
    ),
]


@pytest.mark.parametrize(("raw", "status", "path", "message"), REJECTED)
def test_malformed_or_unknown_members_are_rejected_at_their_path(
    raw: object, status: int, path: str, message: str
) -> None:
    with pytest.raises(AppValidationError) as info:
        parse_app(raw)
    error = info.value
    assert (error.status, error.details) == (status, [{"path": path, "errors": [message]}])
    assert error.message == ("Invalid JSON" if status == 400 else "Object is not valid")


IGNORED = {
    "tasks": [],
    "tasksStaged": 0,
    "tasksRunning": 1,
    "tasksHealthy": 1,
    "tasksUnhealthy": 0,
    "deployments": [{"id": "d1"}],
    "readinessCheckResults": [],
    "lastTaskFailure": {"appId": "/app"},
    "taskStats": {},
    "storeUrls": [],
    "taskRateLimit": 1.0,
    "ipAddress": None,
    "residency": {"taskLostBehavior": "WAIT_FOREVER"},
    "secrets": {"db": {"source": "x"}},
    "unreachableStrategy": "disabled",
    "tty": True,
    "check": {"http": {}},
    "executorResources": {"cpus": 0.1},
    "resourceLimits": {"cpus": "unlimited"},
}


def test_keys_marathon_knows_but_roost_ignores_are_accepted_and_dropped() -> None:
    assert parse_app(body(**IGNORED)) == parse_app(BASE)


def test_the_curl_example_is_normalized_like_marathon() -> None:
    app = parse_app(CURL_EXAMPLE)
    assert app.id == "/hello2"
    assert app.port_definitions == [PortDefinition(port=0, protocol="tcp")]
    assert (app.cpus, app.mem, app.disk, app.instances, app.gpus) == (0.1, 16.0, 0.0, 1, 0)
    assert isinstance(app.mem, float)
    assert (app.backoff_seconds, app.backoff_factor, app.max_launch_delay_seconds) == (1, 1.15, 300)
    assert app.upgrade_strategy == UpgradeStrategy(
        minimum_health_capacity=1.0, maximum_over_capacity=1.0
    )
    assert app.kill_selection == "YOUNGEST_FIRST"
    assert app.networks == [{"mode": "host"}]
    assert (app.executor, app.require_ports, app.version, app.version_info) == (
        "",
        False,
        None,
        None,
    )


def test_a_minimal_body_equals_a_directly_built_model() -> None:
    assert parse_app({"id": "x", "cmd": "y"}) == AppDefinition(id="/x", cmd="y")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, [PortDefinition(port=0, name="default", protocol="tcp")]),
        ({"ports": []}, []),
        ({"portDefinitions": []}, []),
        ({"ports": [0, 8080]}, [PortDefinition(port=0), PortDefinition(port=8080)]),
        ({"ports": [0], "portDefinitions": [{"port": 0}]}, [PortDefinition(port=0)]),
        (
            {
                "portDefinitions": [
                    {"port": 80, "name": "http", "protocol": "udp", "labels": {"a": "b"}}
                ]
            },
            [PortDefinition(port=80, name="http", protocol="udp", labels={"a": "b"})],
        ),
        ({"networks": [{"mode": "container/bridge"}]}, []),
    ],
)
def test_ports_are_normalized_to_port_definitions(
    changes: dict[str, Any], expected: list[PortDefinition]
) -> None:
    assert parse_app(body(**changes)).port_definitions == expected


def test_uris_become_fetch_entries_that_extract_archives_only() -> None:
    uris = ["http://h/a.tgz", "http://h/run.sh", "http://h/b.zip?sig=1", "http://h/c.tar.gz"]
    app = parse_app(body(uris=uris))
    assert [(f.uri, f.extract) for f in app.fetch] == [
        ("http://h/a.tgz", True),
        ("http://h/run.sh", False),
        ("http://h/b.zip?sig=1", True),
        ("http://h/c.tar.gz", True),
    ]
    assert all(not f.executable and not f.cache for f in app.fetch)


def test_fetch_entries_get_upstream_defaults() -> None:
    app = parse_app(
        body(fetch=[{"uri": "http://h/x"}, {"uri": "s", "destPath": "d", "cache": True}])
    )
    assert app.fetch == [
        FetchUri(uri="http://h/x", extract=True, executable=False, cache=False),
        FetchUri(uri="s", cache=True, dest_path="d"),
    ]


@pytest.mark.parametrize(
    ("check", "changes", "path", "port_index"),
    [
        ({}, {}, "/", 0),
        ({"protocol": "HTTPS", "path": "/health"}, {}, "/health", 0),
        ({"protocol": "MESOS_HTTP"}, {}, "/", 0),
        ({"protocol": "TCP"}, {}, None, 0),
        ({"protocol": "MESOS_TCP"}, {}, None, 0),
        ({"protocol": "HTTP", "portIndex": 1}, {"ports": [0, 0]}, "/", 1),
        ({"protocol": "HTTP", "port": 8080}, {}, "/", None),
        ({"protocol": "HTTP", "port": 8080}, {"portDefinitions": []}, "/", None),
        ({"protocol": "COMMAND", "command": {"value": "true"}}, {}, None, None),
    ],
)
def test_health_checks_get_a_default_path_and_port_index(
    check: dict[str, Any], changes: dict[str, Any], path: str | None, port_index: int | None
) -> None:
    [normalized] = parse_app(body(healthChecks=[check], **changes)).health_checks
    assert (normalized.path, normalized.port_index) == (path, port_index)


def test_health_check_defaults_are_upstreams() -> None:
    [check] = parse_app(body(healthChecks=[{}])).health_checks
    assert check == HealthCheckDef(
        protocol="HTTP",
        path="/",
        port_index=0,
        grace_period_seconds=300,
        interval_seconds=60,
        timeout_seconds=20,
        max_consecutive_failures=3,
        delay_seconds=15,
        ignore_http1xx=False,
        ip_protocol="IPv4",
    )


def test_constraint_operators_are_upper_cased_and_numbers_become_text() -> None:
    app = parse_app(body(constraints=[["hostname", "unique"], ["rack", "max_per", 2]]))
    assert app.constraints == [["hostname", "UNIQUE"], ["rack", "MAX_PER", "2"]]


def test_relative_ids_resolve_against_the_base_group() -> None:
    assert parse_app(body(id="web"), base="/prod").id == "/prod/web"
    assert parse_app(body(id="./a/../web")).id == "/web"
    assert parse_app(body(id="/abs//web/")).id == "/abs/web"


def test_dependencies_resolve_against_the_apps_parent() -> None:
    app = parse_app(body(id="/prod/web", dependencies=["db", "../shared/cache", "/abs"]))
    assert app.dependencies == ["/prod/db", "/shared/cache", "/abs"]


def test_old_docker_network_and_port_mappings_are_migrated() -> None:
    container = {
        "docker": {
            "image": "nginx",
            "network": "BRIDGE",
            "portMappings": [{"containerPort": 80, "hostPort": 0}],
        }
    }
    app = parse_app(body(container=container))
    assert app.networks == [{"mode": "container/bridge"}]
    assert app.port_definitions == []
    assert app.container == {
        "type": "DOCKER",
        "docker": {"image": "nginx"},
        "portMappings": [{"containerPort": 80, "hostPort": 0}],
    }
    [check] = parse_app(body(container=container, healthChecks=[{}])).health_checks
    assert check.port_index == 0  # the mapping is the app's port


@pytest.mark.parametrize(
    ("networks", "expected"),
    [
        ([], [{"mode": "host"}]),
        ([{"name": "dcos"}], [{"mode": "container", "name": "dcos"}]),
        ([{"mode": "container/bridge"}], [{"mode": "container/bridge"}]),
    ],
)
def test_networks_default_to_host_and_modes_to_container(
    networks: list[dict[str, Any]], expected: list[dict[str, Any]]
) -> None:
    assert parse_app(body(networks=networks)).networks == expected


def test_null_members_mean_absent() -> None:
    nulls = {"args": None, "cpus": None, "env": None, "upgradeStrategy": None, "ports": None}
    assert parse_app(body(**nulls)) == parse_app(BASE)


def test_whole_numbers_are_accepted_where_integers_belong_and_stored_as_int() -> None:
    app = parse_app(body(instances=2.0, gpus=1.0, cpus=2))
    assert (app.instances, app.gpus, app.cpus) == (2, 1, 2.0)
    assert isinstance(app.instances, int) and isinstance(app.cpus, float)


def test_empty_args_next_to_cmd_are_dropped() -> None:
    assert parse_app(body(args=[])).args is None


def test_env_keeps_plain_values_and_secret_references() -> None:
    app = parse_app(body(env={"A": "1", "PW": {"secret": "db"}}))
    assert app.env == {"A": "1", "PW": {"secret": "db"}}


def test_parsing_leaves_the_callers_body_untouched() -> None:
    raw = body(
        id="web",
        ports=[0],
        uris=["http://h/a.tgz"],
        constraints=[["hostname", "unique"]],
        healthChecks=[{}],
        container={"docker": {"image": "x", "network": "HOST"}},
    )
    before = copy.deepcopy(raw)
    parse_app(raw)
    assert raw == before


def test_models_are_frozen() -> None:
    app = parse_app(BASE)
    with pytest.raises(pydantic.ValidationError):
        app.instances = 5  # type: ignore[misc]
    assert app.model_copy(update={"instances": 5}).instances == 5


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
KEYS = st.sampled_from(
    [
        "id",
        "cmd",
        "args",
        "cpus",
        "instances",
        "ports",
        "portDefinitions",
        "healthChecks",
        "readinessChecks",
        "constraints",
        "container",
        "networks",
        "env",
        "upgradeStrategy",
        "fetch",
        "uris",
        "dependencies",
        "labels",
        "executor",
        "versionInfo",
        "colour",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, JSON, max_size=4))
def test_any_json_body_is_either_an_app_or_an_app_validation_error(changes: dict[str, Any]) -> None:
    try:
        app = parse_app({**BASE, **changes})
    except AppValidationError as error:
        assert error.status in (400, 422) and error.details
    else:
        assert parse_app(app_json(app)).id == app.id
