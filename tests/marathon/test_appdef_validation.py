"""Semantically invalid app definitions get 422 with Marathon's path and message.

Each case changes one thing in a valid app and expects exactly one failure, so a rule
that stops firing, fires twice or reports at the wrong path fails the table. Wrong JSON
types (400) and unknown properties are in ``test_appdef_parse.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from roost.marathon import pathid
from roost.marathon.appdef import AppValidationError, parse_app

BASE: dict[str, Any] = {"id": "/app", "cmd": "sleep 100"}
DROP = object()  # marks a key of BASE to remove

REGEX = f"must fully match regular expression '{pathid.SEGMENT_PATTERN}'"
RESERVED = (
    "must not end with any of the following reserved keywords: restart, tasks, versions, ., .."
)
CMD_ARGS = "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."
EXECUTOR = "must fully match regular expression '^(//cmd)|(/?[^/]+(/[^/]+)*)|$'"
PORT_INDEX = (
    "Health check port indices must address an element of the ports array or container "
    "port mappings."
)
OPERATORS = (
    "Constraint operator must be one of the following "
    "UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS"
)
FIELDS = "Each constraint must have either 2 or 3 fields"
REGEX_NEEDED = "A regular expression value must be provided"
NOT_A_NUMBER = "Value was not specified or is not a number"
GROUP_BY = "Value was specified but is not a number"
IS_VALUE = "Value was not specified or does not match [a-zA-Z0-9_/.-]*"
HC_PROTOCOLS = "must be one of HTTP, HTTPS, TCP, COMMAND, MESOS_HTTP, MESOS_HTTPS, MESOS_TCP"
IPV6 = "IPv6 can only be used for container type DOCKER and Mesos http/https/tcp health checks"
MESOS_CHECKS = "AppDefinition can contain at most one Mesos health check"
NO_COMMAND = "must be defined for a COMMAND health check"
BOTH_PORTS = "cannot specify both ports and port definitions"
WITH_FETCH = "may not be set in conjunction with fetch"
ONLY_HOST = "portDefinitions are only allowed with host-networking"
NOT_ON_HOST = "portMappings are not allowed with host-networking"
BOTH_NETWORKS = "must not specify both container.docker.network and networks"
ONE_READINESS = "at most one readiness check is supported"
NO_PORT_NAME = "No port definition reference for portName http-api"
TIMESTAMP = "must be a timestamp like 2015-09-29T15:59:51.164Z"
SINGLE = "Single instance app may only have one instance"
KILL = "must be one of YOUNGEST_FIRST, OLDEST_FIRST"
PORT_PROTOCOLS = "must be one of tcp, udp, udp,tcp"
NET_MODES = "must be one of host, container, container/bridge"
RC_PROTOCOLS = "must be one of HTTP, HTTPS"
PORT_NAMES, PORTS = "Port names must be unique.", "Ports must be unique."
LT0, LT1, EMPTY = "is less than 0", "is less than 1", "must not be empty"
UNKNOWN = "unknown property"
PD, MCF = "/portDefinitions", "/healthChecks(0)/maxConsecutiveFailures"
MHC, MOC = "/upgradeStrategy/minimumHealthCapacity", "/upgradeStrategy/maximumOverCapacity"
C0, HC0, HC1, RC0 = "/constraints(0)", "/healthChecks(0)", "/healthChecks(1)", "/readinessChecks(0)"
NUMBER = "error.expected.jsnumber"
HTTP_API = [{"port": 0, "name": "http-api"}]
DOCKER = {"type": "DOCKER", "docker": {"image": "nginx"}}
ZERO_STRATEGY = {"minimumHealthCapacity": 0, "maximumOverCapacity": 0}
BRIDGE = [{"mode": "container/bridge"}]
MAPPED = {**DOCKER, "portMappings": [{"containerPort": 80}]}


def gt(limit: int) -> str:
    return f"is greater than {limit}"


def broken(regex: str) -> str:
    return f"'{regex}' is not a valid regular expression"


def body(**changes: Any) -> dict[str, Any]:
    out = {**BASE, **changes}
    return {k: v for k, v in out.items() if v is not DROP}


def bad(
    name: str, path: str, message: str, raw: dict[str, Any] | None = None, **changes: Any
) -> Any:
    """A case: BASE with ``changes`` (or ``raw`` itself) fails once, at ``path``."""
    data = body(**changes) if raw is None else {**raw, **changes}
    return pytest.param(data, path, message, id=name)


def checks(*hcs: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return body(healthChecks=list(hcs), **changes)


def ready(*rcs: dict[str, Any]) -> dict[str, Any]:
    return body(portDefinitions=HTTP_API, readinessChecks=list(rcs))


def constraint(*c: Any) -> dict[str, Any]:
    return body(constraints=[list(c)])


def hc(protocol: str, **check: Any) -> dict[str, Any]:
    return {"protocol": protocol, **check}


def ports(*definitions: dict[str, Any]) -> dict[str, Any]:
    return body(portDefinitions=list(definitions))


def container(**c: Any) -> dict[str, Any]:
    return body(container=c)


CASES = [
    # ids (reference §2.2)
    bad("uppercase id", "/id", REGEX, id="/My_App"),
    bad("reserved last segment", "/id", RESERVED, id="/grp/tasks"),
    bad("root id", "/id", "must not be root", id="/"),
    bad("id that resolves to root", "/id", "must not be root", id="a/../.."),
    bad("bad dependency", "/dependencies(0)", REGEX, dependencies=["/Other"]),
    # command
    bad("no cmd, args or container", "/", CMD_ARGS, cmd=DROP),
    bad("cmd and args together", "/", CMD_ARGS, args=["sleep", "1"]),
    bad("empty args and no cmd", "/", CMD_ARGS, cmd=DROP, args=[]),
    bad("empty cmd", "/cmd", "must not be an empty string", cmd=""),
    bad("blank cmd", "/cmd", "must not be an empty string", cmd="   "),
    bad("bad executor", "/executor", EXECUTOR, executor="a//b"),
    # resources and their absurd limits
    bad("negative cpus", "/cpus", LT0, cpus=-0.5),
    bad("absurd cpus", "/cpus", gt(1_000_000), cpus=2e6),
    bad("negative mem", "/mem", LT0, mem=-1),
    bad("absurd mem", "/mem", gt(1_000_000_000), mem=1e10),
    bad("negative disk", "/disk", LT0, disk=-1),
    bad("negative gpus", "/gpus", LT0, gpus=-1),
    bad("negative instances", "/instances", LT0, instances=-1),
    bad("absurd instances", "/instances", gt(1_000_000), instances=1_000_001),
    bad("empty accepted roles", "/acceptedResourceRoles", EMPTY, acceptedResourceRoles=[]),
    # scheduling
    bad("min health above 1", MHC, gt(1), upgradeStrategy={"minimumHealthCapacity": 1.5}),
    bad("over capacity below 0", MOC, LT0, upgradeStrategy={"maximumOverCapacity": -0.1}),
    bad("backoff factor below 1", "/backoffFactor", LT1, backoffFactor=0.5),
    bad("negative backoff", "/backoffSeconds", LT0, backoffSeconds=-1),
    bad("negative launch delay", "/maxLaunchDelaySeconds", LT0, maxLaunchDelaySeconds=-1),
    bad("negative kill grace", "/taskKillGracePeriodSeconds", LT0, taskKillGracePeriodSeconds=-1),
    bad("kill selection", "/killSelection", KILL, killSelection="X"),
    bad(
        "single instance app scaled",
        "/",
        SINGLE,
        instances=2,
        labels={"MARATHON_SINGLE_INSTANCE_APP": "true"},
        upgradeStrategy=ZERO_STRATEGY,
    ),
    # constraints (reference §2.3)
    bad("one-field constraint", C0, FIELDS, constraint("hostname")),
    bad("four-field constraint", C0, FIELDS, constraint("a", "CLUSTER", "b", "c")),
    bad("empty field", C0, "Missing field and operator", constraint("", "IS", "x")),
    bad("unknown operator", C0, OPERATORS, constraint("rack", "NEAR", "x")),
    bad("unique with a value", C0, "Value specified but not used", constraint("h", "unique", "x")),
    bad("like without a value", C0, REGEX_NEEDED, constraint("hostname", "LIKE")),
    bad("like, broken regex", C0, broken("[a-"), constraint("h", "LIKE", "[a-")),
    bad("unlike, broken regex", C0, broken("(x"), constraint("h", "UNLIKE", "(x")),
    bad("max_per without a value", C0, NOT_A_NUMBER, constraint("rack", "MAX_PER")),
    bad("max_per with a word", C0, NOT_A_NUMBER, constraint("rack", "MAX_PER", "two")),
    bad("group_by with a word", C0, GROUP_BY, constraint("rack", "GROUP_BY", "x")),
    bad("is with a space", C0, IS_VALUE, constraint("rack", "IS", "a b")),
    bad("is without a value", C0, IS_VALUE, constraint("rack", "IS")),
    bad("second constraint bad", "/constraints(1)", FIELDS, constraints=[["h", "UNIQUE"], ["a"]]),
    # ports (reference §2.8)
    bad("same port names", PD, PORT_NAMES, ports({"name": "a"}, {"name": "a"})),
    bad("same definition ports", PD, PORTS, ports({"port": 80}, {"port": 80})),
    bad("duplicate ports", "/ports", "ports must be unique", ports=[8080, 8080]),
    bad("ports and portDefinitions", "/", BOTH_PORTS, ports=[1], portDefinitions=[{"port": 2}]),
    bad("port too large", "/portDefinitions(0)/port", gt(65535), ports({"port": 70000})),
    bad("negative port", "/portDefinitions(0)/port", LT0, ports({"port": -1})),
    bad("port protocol", f"{PD}(0)/protocol", PORT_PROTOCOLS, ports({"protocol": "x"})),
    bad("uris and fetch", "/uris", WITH_FETCH, uris=["http://x/a"], fetch=[{"uri": "http://x/b"}]),
    bad("blank fetch uri", "/fetch(0)/uri", EMPTY, fetch=[{"uri": ""}]),
    # networking and containers
    bad("network mode", "/networks(0)/mode", NET_MODES, networks=[{"mode": "x"}]),
    bad("port definitions on a bridge", "/", ONLY_HOST, ports({}), networks=BRIDGE),
    bad("port mappings on host", "/", NOT_ON_HOST, container=MAPPED),
    bad("container type", "/container/type", "must be one of DOCKER, MESOS", container(type="X")),
    bad("docker without image", "/container/docker/image", EMPTY, container(docker={"image": ""})),
    bad(
        "docker network and networks",
        "/",
        BOTH_NETWORKS,
        networks=[{"mode": "host"}],
        container={"docker": {"image": "x", "network": "BRIDGE"}},
    ),
    bad(
        "bad volume mode",
        "/container/volumes(0)/mode",
        "must be one of RO, RW",
        container(type="MESOS", volumes=[{"containerPath": "d", "mode": "RX"}]),
    ),
    # health checks (reference §2.4)
    bad("port index past the ports", f"{HC0}/portIndex", PORT_INDEX, checks({"portIndex": 1})),
    bad("check without any port", HC0, PORT_INDEX, checks({"protocol": "TCP"}, portDefinitions=[])),
    bad("second check bad index", f"{HC1}/portIndex", PORT_INDEX, checks({}, {"portIndex": 5})),
    bad("command check, no command", f"{HC0}/command", NO_COMMAND, checks({"protocol": "COMMAND"})),
    bad(
        "command check, empty command",
        f"{HC0}/command/value",
        EMPTY,
        checks({"protocol": "COMMAND", "command": {"value": ""}}),
    ),
    bad("two mesos checks", "/", MESOS_CHECKS, checks(hc("MESOS_HTTP"), hc("MESOS_TCP"))),
    bad("unknown check protocol", f"{HC0}/protocol", HC_PROTOCOLS, checks({"protocol": "UDP"})),
    bad("zero interval", f"{HC0}/intervalSeconds", LT1, checks({"intervalSeconds": 0})),
    bad("negative grace", f"{HC0}/gracePeriodSeconds", LT0, checks({"gracePeriodSeconds": -1})),
    bad("negative failures", MCF, LT0, checks({"maxConsecutiveFailures": -1})),
    bad("check port too large", f"{HC0}/port", gt(65535), checks({"port": 65536})),
    bad("ipv6 leader check", HC0, IPV6, checks({"ipProtocol": "IPv6"})),
    # readiness checks (reference §2.5)
    bad("two readiness checks", "/readinessChecks", ONE_READINESS, ready({}, {})),
    bad(
        "readiness timeout not below interval",
        f"{RC0}/timeoutSeconds",
        "must be less than intervalSeconds",
        ready({"intervalSeconds": 5, "timeoutSeconds": 5}),
    ),
    bad("readiness port name unknown", f"{RC0}/portName", NO_PORT_NAME, readinessChecks=[{}]),
    bad("readiness over tcp", f"{RC0}/protocol", RC_PROTOCOLS, ready({"protocol": "TCP"})),
    bad(
        "readiness status code",
        f"{RC0}/httpStatusCodesForReady(1)",
        "is less than 100",
        ready({"httpStatusCodesForReady": [200, 99]}),
    ),
    # versions
    bad("version not a timestamp", "/version", TIMESTAMP, version="yesterday"),
]


@pytest.mark.parametrize(("raw", "path", "message"), CASES)
def test_invalid_definition_is_rejected_with_exactly_one_upstream_failure(
    raw: object, path: str, message: str
) -> None:
    with pytest.raises(AppValidationError) as info:
        parse_app(raw)
    error = info.value
    assert (error.status, error.message) == (422, "Object is not valid")
    assert error.details == [{"path": path, "errors": [message]}]


def test_the_table_has_at_least_forty_invalid_definitions() -> None:
    assert len(CASES) >= 40


def reject(raw: object, path: str = "") -> AppValidationError:
    with pytest.raises(AppValidationError) as info:
        parse_app(raw, path=path)
    return info.value


def test_all_failures_are_collected_and_grouped_by_path() -> None:
    error = reject(
        body(
            id="/Bad",
            cpus=-1,
            colour="x",
            constraints=[["hostname", "UNIQUE", "x"], ["a"]],
            upgradeStrategy={"minimumHealthCapacity": 2, "maximumOverCapacity": -1},
        )
    )
    assert error.status == 422
    assert {d["path"]: d["errors"] for d in error.details} == {
        "/colour": [UNKNOWN],
        "/id": [REGEX],
        "/cpus": [LT0],
        "/upgradeStrategy/minimumHealthCapacity": ["is greater than 1"],
        "/upgradeStrategy/maximumOverCapacity": [LT0],
        "/constraints(0)": ["Value specified but not used"],
        "/constraints(1)": [FIELDS],
    }


def test_several_messages_at_one_path_share_one_entry() -> None:
    assert reject(body(id="/Grp/tasks")).details == [{"path": "/id", "errors": [REGEX, RESERVED]}]


def test_type_errors_win_over_semantic_ones_and_are_all_reported() -> None:
    error = reject(body(cpus="x", mem=[], instances=-1, colour=1))
    assert error.status == 400
    assert error.details == [
        {"path": "/cpus", "errors": [NUMBER]},
        {"path": "/mem", "errors": [NUMBER]},
    ]


def test_path_prefix_places_errors_inside_a_list() -> None:
    error = reject(body(id="/Bad", healthChecks=[{"portIndex": 3}]), path="/apps(2)")
    paths = [d["path"] for d in error.details]
    assert paths == ["/apps(2)/id", "/apps(2)/healthChecks(0)/portIndex"]


def test_path_prefix_applies_to_whole_object_rules_and_type_errors() -> None:
    error = reject(body(cmd=DROP), path="/apps(0)")
    assert error.details == [{"path": "/apps(0)", "errors": [CMD_ARGS]}]
    error = reject(body(cpus="1"), path="/apps(0)")
    assert error.details == [{"path": "/apps(0)/cpus", "errors": [NUMBER]}]


def test_error_body_has_marathons_shape() -> None:
    error = reject(body(upgradeStrategy={"minimumHealthCapacity": 1.5}))
    assert error.body() == {
        "message": "Object is not valid",
        "details": [
            {"path": "/upgradeStrategy/minimumHealthCapacity", "errors": ["is greater than 1"]}
        ],
    }


ALL_OPERATORS = [
    ["hostname", "UNIQUE"],
    ["rack", "CLUSTER", "r1"],
    ["rack", "CLUSTER"],
    ["rack", "GROUP_BY"],
    ["rack", "GROUP_BY", "3"],
    ["hostname", "LIKE", "web.*"],
    ["hostname", "UNLIKE", "db[0-9]+"],
    ["rack", "MAX_PER", "2"],
    ["rack", "MAX_PER", 2],
    ["@zone", "IS", "us-east/1a"],
]
VERSIONED = {
    "version": "2015-09-29T15:59:51.164Z",
    "versionInfo": {
        "lastScalingAt": "2015-09-29T15:59:51Z",
        "lastConfigChangeAt": "2015-09-29T15:59:51.164Z",
    },
}
BRIDGED_DOCKER = {
    **DOCKER,
    "portMappings": [{"containerPort": 80, "hostPort": 0, "name": "http"}],
}


@pytest.mark.parametrize(
    "raw",
    [
        body(cpus=0, mem=0, disk=0, instances=0),
        body(cpus=0.0001),
        body(cmd=DROP, args=["/bin/sleep", "10"]),
        body(cmd=DROP, container=DOCKER),
        body(cmd=DROP, args=["-g", "daemon off;"], container={"docker": {"image": "nginx"}}),
        body(upgradeStrategy=ZERO_STRATEGY),
        body(upgradeStrategy={"minimumHealthCapacity": 1, "maximumOverCapacity": 1}),
        body(backoffFactor=1, backoffSeconds=0, maxLaunchDelaySeconds=0),
        body(killSelection="OLDEST_FIRST"),
        body(constraints=ALL_OPERATORS),
        body(ports=[0, 0, 8080]),
        body(ports=[8080], portDefinitions=[{"port": 8080}]),
        body(portDefinitions=[{"port": 0, "protocol": "udp,tcp"}, {"port": 0, "protocol": "udp"}]),
        checks({"protocol": "COMMAND", "command": {"value": "true"}}),
        checks({"protocol": "HTTP", "port": 8080}, portDefinitions=[]),
        checks({"protocol": "MESOS_HTTP"}, {"protocol": "HTTP"}, {"protocol": "TCP"}),
        ready({}),
        body(env={"A": "1", "DB_PASSWORD": {"secret": "db"}}),
        body(executor="//cmd"),
        body(executor="/opt/executor"),
        body(networks=[{"mode": "container/bridge"}]),
        body(cmd=DROP, networks=[{"mode": "container/bridge"}], container=BRIDGED_DOCKER),
        body(**VERSIONED),
        body(labels={"MARATHON_SINGLE_INSTANCE_APP": "true"}, upgradeStrategy=ZERO_STRATEGY),
    ],
)
def test_valid_definitions_at_the_edges_are_accepted(raw: dict[str, Any]) -> None:
    assert parse_app(raw).id == "/app"
