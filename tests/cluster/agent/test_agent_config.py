"""AgentConfig: defaults, the master address, and bad values with specific messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from roost.cluster.agent.config import AgentConfig, ConfigError


def make(**over: Any) -> AgentConfig:
    kw: dict[str, Any] = {"master": "127.0.0.1:5050", "work_dir": Path("/tmp/w")}
    kw.update(over)
    return AgentConfig(**kw)


def test_defaults_follow_mesos():
    c = make()
    assert (c.ip, c.port) == ("0.0.0.0", 5051)
    assert (c.status_update_retry_min, c.status_update_retry_max) == (10.0, 600.0)
    assert c.executor_registration_timeout == 60.0
    assert c.executor_shutdown_grace_period == 5.0


@pytest.mark.parametrize(
    ("master", "expected"),
    [
        ("10.0.0.1:5050", ("10.0.0.1", 5050)),
        ("master.example.com:15050", ("master.example.com", 15050)),
        ("localhost", ("localhost", 5050)),
        ("[::1]:5050", ("::1", 5050)),
        (" 10.0.0.1:1 ", ("10.0.0.1", 1)),
    ],
)
def test_master_address_forms(master: str, expected: tuple[str, int]):
    assert make(master=master).master_address() == expected


BAD: list[tuple[dict[str, Any], str]] = [
    ({"master": ""}, "--master must look like host:port"),
    ({"master": "http://m:5050"}, "--master must look like host:port"),
    ({"master": "m:"}, "--master port must be between 1 and 65535"),
    ({"master": "m:99999"}, "--master port must be between 1 and 65535"),
    ({"master": "m:abc"}, "--master port must be between 1 and 65535"),
    ({"master": "::1:5050"}, "write IPv6 addresses as [addr]:port"),
    ({"master": "bad host:1"}, "--master must look like host:port"),
    ({"ip": "not-an-ip"}, "--ip must be an IP address"),
    ({"port": 70000}, "--port must be between 0 and 65535, got 70000"),
    ({"port": -1}, "--port must be between 0 and 65535, got -1"),
    ({"port": "5051"}, "--port must be an integer"),
    ({"hostname": "a b"}, "--hostname must be a host name or IP address"),
    ({"status_update_retry_min": -1.0}, "--status-update-retry-min must be positive seconds"),
    ({"status_update_retry_min": 0}, "--status-update-retry-min must be positive seconds"),
    ({"status_update_retry_max": float("nan")}, "--status-update-retry-max must be a number"),
    ({"status_update_retry_min": 20.0, "status_update_retry_max": 10.0}, "must not exceed"),
    ({"reconnect_backoff_min": -0.5}, "--reconnect-backoff-min must be positive seconds"),
    ({"reconnect_backoff_min": 11.0}, "--reconnect-backoff-min (11.0) must not exceed"),
    ({"executor_registration_timeout": 0}, "--executor-registration-timeout must be positive"),
    ({"executor_shutdown_grace_period": -1}, "--executor-shutdown-grace-period must be zero"),
    ({"executor_shutdown_grace_period": 1e12}, "must be at most one year"),
    ({"cgroups": "yes"}, "--cgroups must be 'auto' or 'off'"),
    ({"max_completed_tasks": -1}, "--max-completed-tasks must be zero or more"),
    ({"resources": "cpus:lots"}, "--resources: bad resource 'cpus:lots'"),
    ({"attributes": "rack"}, "--attributes: bad attribute 'rack'"),
]


@pytest.mark.parametrize(("over", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_values_give_specific_messages(over: dict[str, Any], message: str):
    with pytest.raises(ConfigError) as e:
        make(**over)
    assert message in str(e.value)


def test_advertised_hostname_prefers_flag_then_bound_ip_then_route():
    assert make(hostname="agent1.example.com").advertised_hostname() == "agent1.example.com"
    assert make(ip="127.0.0.2").advertised_hostname() == "127.0.0.2"
    assert make(master="127.0.0.1:5050").advertised_hostname() == "127.0.0.1"
