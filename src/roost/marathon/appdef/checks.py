"""Health and readiness check rules (reference §2.4, §2.5; upstream ``AppValidation``).

Health checks: a known protocol; at most one Mesos-level check (COMMAND or MESOS_*) per
app; COMMAND checks carry ``command.value``; every other check names a port, by ``port``
or by a ``portIndex`` into the container's port mappings (when it has any) or the port
definitions; intervals of at least 1 s and no negative durations or counts.

Readiness checks: at most one; HTTP or HTTPS; ``timeoutSeconds < intervalSeconds``;
``portName`` names a port mapping or port definition.
"""

from __future__ import annotations

from roost.marathon.appdef import rules
from roost.marathon.appdef.container import port_mappings
from roost.marathon.appdef.errors import Issues, at
from roost.marathon.appdef.model import AppDefinition, HealthCheckDef

HEALTH_PROTOCOLS = ("HTTP", "HTTPS", "TCP", "COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP")
MESOS_PROTOCOLS = ("COMMAND", "MESOS_HTTP", "MESOS_HTTPS", "MESOS_TCP")
READINESS_PROTOCOLS = ("HTTP", "HTTPS")
IP_PROTOCOLS = ("IPv4", "IPv6")

PORT_INDEX_MESSAGE = (
    "Health check port indices must address an element of the ports array or container "
    "port mappings."
)
IPV6_MESSAGE = (
    "IPv6 can only be used for container type DOCKER and Mesos http/https/tcp health checks"
)


def port_names(app: AppDefinition) -> list[str | None]:
    """Names of the app's ports, in index order (mappings win over definitions, as upstream)."""
    mappings = port_mappings(app.container)
    if mappings:
        return [m.get("name") for m in mappings]
    return [d.name for d in app.port_definitions]


def validate_health_checks(app: AppDefinition, issues: Issues, path: str) -> None:
    mesos = [hc for hc in app.health_checks if hc.protocol in MESOS_PROTOCOLS]
    if len(mesos) > 1:
        issues.add(path, "AppDefinition can contain at most one Mesos health check")
    port_count = len(port_names(app))
    docker = (app.container or {}).get("type") == "DOCKER"
    for i, check in enumerate(app.health_checks):
        _health_check(check, port_count, docker, issues, at(path, "healthChecks", i))


def _health_check(
    check: HealthCheckDef, port_count: int, docker: bool, issues: Issues, here: str
) -> None:
    rules.one_of(issues, at(here, "protocol"), check.protocol, HEALTH_PROTOCOLS)
    rules.one_of(issues, at(here, "ipProtocol"), check.ip_protocol, IP_PROTOCOLS)
    mesos_network_check = check.protocol in MESOS_PROTOCOLS[1:]
    if check.ip_protocol == "IPv6" and not (mesos_network_check and docker):
        issues.add(here, IPV6_MESSAGE)
    if check.protocol == "COMMAND":
        if check.command is None:
            issues.add(at(here, "command"), "must be defined for a COMMAND health check")
        else:
            rules.not_blank(issues, at(here, "command", "value"), check.command.get("value", ""))
    elif check.port_index is not None:
        rules.in_range(issues, at(here, "portIndex"), check.port_index, 0)
        if 0 <= check.port_index and check.port_index >= port_count:
            issues.add(at(here, "portIndex"), PORT_INDEX_MESSAGE)
    elif check.port is None:
        issues.add(here, PORT_INDEX_MESSAGE)
    rules.port(issues, at(here, "port"), check.port)
    rules.in_range(issues, at(here, "gracePeriodSeconds"), check.grace_period_seconds, 0)
    rules.in_range(issues, at(here, "intervalSeconds"), check.interval_seconds, 1)
    rules.in_range(issues, at(here, "timeoutSeconds"), check.timeout_seconds, 0)
    rules.in_range(issues, at(here, "maxConsecutiveFailures"), check.max_consecutive_failures, 0)
    rules.in_range(issues, at(here, "delaySeconds"), check.delay_seconds, 0)


def validate_readiness_checks(app: AppDefinition, issues: Issues, path: str) -> None:
    if len(app.readiness_checks) > 1:
        issues.add(at(path, "readinessChecks"), "at most one readiness check is supported")
    names = {n for n in port_names(app) if n is not None}
    for i, check in enumerate(app.readiness_checks):
        here = at(path, "readinessChecks", i)
        rules.one_of(issues, at(here, "protocol"), check.protocol, READINESS_PROTOCOLS)
        if check.port_name not in names:
            issues.add(
                at(here, "portName"), f"No port definition reference for portName {check.port_name}"
            )
        rules.in_range(issues, at(here, "intervalSeconds"), check.interval_seconds, 1)
        rules.in_range(issues, at(here, "timeoutSeconds"), check.timeout_seconds, 1)
        if check.timeout_seconds >= check.interval_seconds:
            issues.add(at(here, "timeoutSeconds"), "must be less than intervalSeconds")
        for j, code in enumerate(check.http_status_codes_for_ready):
            rules.in_range(issues, at(here, "httpStatusCodesForReady", j), code, 100, 599)
