"""Semantic rules for a normalized app (reference §2.2, §2.8; upstream ``AppValidation``).

Every failure is collected, never just the first. Messages are upstream's where known.
Paths: rules about one member point at it (``/cmd``, ``/ports``, ``/healthChecks(1)/portIndex``);
rules that relate several members point at the app itself (``/``), as upstream's
``isTrue`` rules on the whole app do (cmd/args/container, ports with portDefinitions,
Mesos health checks, networking).

Beyond upstream, absurd sizes are rejected so that nothing downstream has to cope with
them (inclusive limits):

- ``instances`` <= 1,000,000; ``cpus`` <= 1,000,000; ``gpus`` <= 100,000;
- ``mem`` and ``disk`` <= 1,000,000,000 MB;
- ``backoffSeconds``, ``maxLaunchDelaySeconds``, ``taskKillGracePeriodSeconds``
  <= 1,000,000,000 s; ``backoffFactor`` <= 1,000.

``cpus`` only needs to be >= 0 (reference §2.8; the RAML's 0.001 minimum is not enforced).
"""

from __future__ import annotations

import re

from roost.marathon import pathid
from roost.marathon.appdef import rules
from roost.marathon.appdef.checks import validate_health_checks, validate_readiness_checks
from roost.marathon.appdef.constraints import validate_constraints
from roost.marathon.appdef.container import PORT_PROTOCOLS, has_image, validate_container
from roost.marathon.appdef.errors import Issues, at
from roost.marathon.appdef.model import AppDefinition
from roost.marathon.appdef.normalize import is_host_networking

MAX_INSTANCES = 1_000_000
MAX_CPUS = 1_000_000
MAX_GPUS = 100_000
MAX_MB = 1_000_000_000
MAX_SECONDS = 1_000_000_000
MAX_BACKOFF_FACTOR = 1_000

KILL_SELECTIONS = ("YOUNGEST_FIRST", "OLDEST_FIRST")
NETWORK_MODES = ("host", "container", "container/bridge")
EXECUTOR_PATTERN = r"^(//cmd)|(/?[^/]+(/[^/]+)*)|$"
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")
SINGLE_INSTANCE_LABEL = "MARATHON_SINGLE_INSTANCE_APP"
CMD_ARGS_CONTAINER = (
    "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."
)


def validate_app(app: AppDefinition, issues: Issues, path: str = "") -> None:
    """Record every rule ``app`` breaks in ``issues``; ``path`` prefixes every path."""
    for message in pathid.id_errors(app.id):
        issues.add(at(path, "id"), message)
    for i, dependency in enumerate(app.dependencies):
        for message in pathid.id_errors(dependency):
            issues.add(at(path, "dependencies", i), message)
    _command(app, issues, path)
    _resources(app, issues, path)
    _scheduling(app, issues, path)
    _ports(app, issues, path)
    validate_health_checks(app, issues, path)
    validate_readiness_checks(app, issues, path)
    validate_constraints(app.constraints, issues, path)
    for i, fetch in enumerate(app.fetch):
        rules.not_blank(issues, at(path, "fetch", i, "uri"), fetch.uri)
    info = app.version_info
    stamps = [("version", app.version)]
    if info is not None:
        stamps += [
            ("versionInfo/lastScalingAt", info.last_scaling_at),
            ("versionInfo/lastConfigChangeAt", info.last_config_change_at),
        ]
    for key, stamp in stamps:
        if stamp is not None and not TIMESTAMP.fullmatch(stamp):
            issues.add(
                at(path, *key.split("/")), "must be a timestamp like 2015-09-29T15:59:51.164Z"
            )


def _command(app: AppDefinition, issues: Issues, path: str) -> None:
    cmd, args = app.cmd is not None, bool(app.args)
    if not ((cmd != args) or (not (cmd and args) and has_image(app.container))):
        issues.add(path, CMD_ARGS_CONTAINER)
    if app.cmd is not None and not app.cmd.strip():
        issues.add(at(path, "cmd"), "must not be an empty string")
    if not re.fullmatch(EXECUTOR_PATTERN, app.executor):
        issues.add(
            at(path, "executor"), f"must fully match regular expression '{EXECUTOR_PATTERN}'"
        )


def _resources(app: AppDefinition, issues: Issues, path: str) -> None:
    rules.in_range(issues, at(path, "cpus"), app.cpus, 0, MAX_CPUS)
    rules.in_range(issues, at(path, "mem"), app.mem, 0, MAX_MB)
    rules.in_range(issues, at(path, "disk"), app.disk, 0, MAX_MB)
    rules.in_range(issues, at(path, "gpus"), app.gpus, 0, MAX_GPUS)
    rules.in_range(issues, at(path, "instances"), app.instances, 0, MAX_INSTANCES)
    if app.gpus > 0 and (app.container or {}).get("type") == "DOCKER":
        issues.add(path, "GPU resources only work with the Mesos containerizer")
    if app.accepted_resource_roles is not None and not app.accepted_resource_roles:
        issues.add(at(path, "acceptedResourceRoles"), "must not be empty")


def _scheduling(app: AppDefinition, issues: Issues, path: str) -> None:
    strategy = at(path, "upgradeStrategy")
    minimum = app.upgrade_strategy.minimum_health_capacity
    maximum = app.upgrade_strategy.maximum_over_capacity
    rules.in_range(issues, at(strategy, "minimumHealthCapacity"), minimum, 0, 1)
    rules.in_range(issues, at(strategy, "maximumOverCapacity"), maximum, 0, 1)
    if app.labels.get(SINGLE_INSTANCE_LABEL) == "true":
        # upstream complyWithSingleInstanceLabelRules / validForSingleInstanceApps
        if app.instances > 1:
            issues.add(path, "Single instance app may only have one instance")
        for key, value in (("minimumHealthCapacity", minimum), ("maximumOverCapacity", maximum)):
            if value != 0:
                issues.add(at(strategy, key), "must be 0 for a single instance app")
    rules.in_range(issues, at(path, "backoffSeconds"), app.backoff_seconds, 0, MAX_SECONDS)
    rules.in_range(issues, at(path, "backoffFactor"), app.backoff_factor, 1, MAX_BACKOFF_FACTOR)
    rules.in_range(
        issues, at(path, "maxLaunchDelaySeconds"), app.max_launch_delay_seconds, 0, MAX_SECONDS
    )
    rules.in_range(
        issues,
        at(path, "taskKillGracePeriodSeconds"),
        app.task_kill_grace_period_seconds,
        0,
        MAX_SECONDS,
    )
    rules.one_of(issues, at(path, "killSelection"), app.kill_selection, KILL_SELECTIONS)


def _ports(app: AppDefinition, issues: Issues, path: str) -> None:
    definitions = app.port_definitions
    for i, definition in enumerate(definitions):
        rules.port(issues, at(path, "portDefinitions", i, "port"), definition.port)
        rules.one_of(
            issues, at(path, "portDefinitions", i, "protocol"), definition.protocol, PORT_PROTOCOLS
        )
    here = at(path, "portDefinitions")
    rules.unique_names(issues, here, (d.name for d in definitions))
    fixed = [d.port for d in definitions if d.port != 0]
    if len(fixed) != len(set(fixed)):
        issues.add(here, "Ports must be unique.")
    host = is_host_networking(app.networks)
    if definitions and not host:
        issues.add(path, "portDefinitions are only allowed with host-networking")
    for i, network in enumerate(app.networks):
        rules.one_of(issues, at(path, "networks", i, "mode"), network.get("mode"), NETWORK_MODES)
    if host and len(app.networks) > 1:
        issues.add(at(path, "networks"), "host networking cannot be combined with other networks")
    if app.container is not None:
        validate_container(app.container, host, issues, path)
