"""mesos_health_check(): Marathon's Mesos-level checks as a v1 ``TaskInfo.health_check``."""

from __future__ import annotations

from typing import Any

import pytest

from roost.marathon.appdef import parse_app
from roost.marathon.health import mesos_health_check
from tests.marathon.health import make_app, make_check

PORTS = [31000, 31001, 31002]
TIMING = {
    "delay_seconds": 15.0,
    "interval_seconds": 60.0,
    "timeout_seconds": 20.0,
    "consecutive_failures": 3,
    "grace_period_seconds": 300.0,
}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"protocol": "COMMAND", "command": {"value": "curl -f http://$HOST:$PORT0/health"}},
            {
                "type": "COMMAND",
                "command": {"value": "curl -f http://$HOST:$PORT0/health", "shell": True},
            },
        ),
        (
            {"protocol": "MESOS_HTTP", "path": "/health", "port_index": 1},
            {"type": "HTTP", "http": {"scheme": "http", "port": 31001, "path": "/health"}},
        ),
        (
            {"protocol": "MESOS_HTTPS", "path": "/ping", "port_index": 2},
            {"type": "HTTP", "http": {"scheme": "https", "port": 31002, "path": "/ping"}},
        ),
        (
            {"protocol": "MESOS_HTTP", "port_index": 0},  # no path: the agent's default "/"
            {"type": "HTTP", "http": {"scheme": "http", "port": 31000}},
        ),
        (
            {"protocol": "MESOS_HTTP", "path": "health", "port_index": 0},
            {"type": "HTTP", "http": {"scheme": "http", "port": 31000, "path": "/health"}},
        ),
        (
            {"protocol": "MESOS_TCP", "port_index": 0},
            {"type": "TCP", "tcp": {"port": 31000}},
        ),
    ],
)
def test_each_mesos_protocol_translates_to_a_v1_health_check(
    fields: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert mesos_health_check(make_app(make_check(**fields)), PORTS) == expected | TIMING


@pytest.mark.parametrize("protocol", ["MESOS_HTTP", "MESOS_TCP"])
def test_port_wins_over_port_index(protocol: str) -> None:
    app = make_app(make_check(protocol=protocol, port=8080, port_index=2))
    health = mesos_health_check(app, PORTS)
    assert health is not None
    assert health["http" if protocol == "MESOS_HTTP" else "tcp"]["port"] == 8080


@pytest.mark.parametrize(("protocol", "key"), [("MESOS_HTTP", "http"), ("MESOS_TCP", "tcp")])
def test_ipv6_checks_ask_the_agent_for_ipv6(protocol: str, key: str) -> None:
    app = make_app(make_check(protocol=protocol, port_index=0, ip_protocol="IPv6"))
    health = mesos_health_check(app, PORTS)
    assert health is not None and health[key]["protocol"] == "IPv6"


def test_timing_fields_come_from_the_definition() -> None:
    check = make_check(
        protocol="MESOS_TCP",
        port_index=0,
        delay_seconds=2,
        interval_seconds=5,
        timeout_seconds=1,
        max_consecutive_failures=7,
        grace_period_seconds=10,
    )
    health = mesos_health_check(make_app(check), PORTS)
    assert health is not None
    assert {k: health[k] for k in TIMING} == {
        "delay_seconds": 2.0,
        "interval_seconds": 5.0,
        "timeout_seconds": 1.0,
        "consecutive_failures": 7,
        "grace_period_seconds": 10.0,
    }


@pytest.mark.parametrize("protocol", ["HTTP", "HTTPS", "TCP"])
def test_marathon_level_checks_stay_out_of_the_task_info(protocol: str) -> None:
    assert mesos_health_check(make_app(make_check(protocol=protocol, port_index=0)), PORTS) is None


def test_app_without_checks_has_no_mesos_health_check() -> None:
    assert mesos_health_check(make_app(), PORTS) is None


def test_the_mesos_check_is_found_among_marathon_checks() -> None:
    app = make_app(
        make_check(protocol="HTTP", port_index=0),
        make_check(protocol="MESOS_TCP", port_index=1),
    )
    health = mesos_health_check(app, PORTS)
    assert health is not None and health["tcp"] == {"port": 31001}


@pytest.mark.parametrize("protocol", ["MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP"])
def test_unresolvable_port_index_gives_no_health_check(protocol: str) -> None:
    assert mesos_health_check(make_app(make_check(protocol=protocol, port_index=3)), PORTS) is None


def test_command_check_without_a_command_is_a_caller_bug() -> None:
    with pytest.raises(ValueError, match=r"command\.value"):
        mesos_health_check(make_app(make_check(protocol="COMMAND")), PORTS)


def test_a_parsed_app_without_port_fields_checks_its_first_host_port() -> None:
    # parse_app normalizes a check that gives neither port nor portIndex to portIndex 0.
    body = {"id": "web", "cmd": "serve", "healthChecks": [{"protocol": "MESOS_HTTP"}]}
    health = mesos_health_check(parse_app(body), PORTS)
    assert health is not None and health["http"]["port"] == 31000
