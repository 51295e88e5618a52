"""The normalized app definition: frozen pydantic models, snake_case with camelCase aliases.

Defaults are upstream's (reference §2.1, ``types/app.raml``, ``raml/Apps.scala``), so a
model built directly (``AppDefinition(id="/x", cmd="sleep 1")``) equals what
:func:`~roost.marathon.appdef.parse_app` makes of the same minimal body. Change a model with
``model_copy(update={...})``; build one from JSON with ``parse_app`` (which type-checks,
normalizes and validates) rather than ``model_validate``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def camel(name: str) -> str:
    """``port_index`` -> ``portIndex``; ``ignore_http1xx`` -> ``ignoreHttp1xx`` (not ``1Xx``)."""
    first, *rest = name.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, alias_generator=camel)


class PortDefinition(_Model):
    """A host port the app asks for; ``port`` 0 means "assign a service port"."""

    port: int = 0
    protocol: str = "tcp"
    name: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)


DEFAULT_PORT_DEFINITIONS = (PortDefinition(port=0, name="default", protocol="tcp"),)
"""What an app without any port fields gets (upstream ``raml/Apps.scala``)."""


class HealthCheckDef(_Model):
    """A health check (``types/healthCheck.raml``; reference §2.4)."""

    protocol: str = "HTTP"
    path: str | None = None
    port_index: int | None = None
    port: int | None = None
    command: dict[str, Any] | None = None
    grace_period_seconds: int = 300
    interval_seconds: int = 60
    timeout_seconds: int = 20
    max_consecutive_failures: int = 3
    delay_seconds: int = 15
    ignore_http1xx: bool = False
    ip_protocol: str = "IPv4"


class ReadinessCheckDef(_Model):
    """A readiness check consulted during deployments (``types/readinessCheck.raml``)."""

    name: str = "readinessCheck"
    protocol: str = "HTTP"
    path: str = "/"
    port_name: str = "http-api"
    interval_seconds: int = 30
    timeout_seconds: int = 10
    http_status_codes_for_ready: list[int] = Field(default_factory=lambda: [200])
    preserve_last_response: bool = False


class UpgradeStrategy(_Model):
    """Rolling-restart bounds as fractions of ``instances`` (reference §2.6)."""

    minimum_health_capacity: float = 1.0
    maximum_over_capacity: float = 1.0


class FetchUri(_Model):
    """A Mesos fetcher URI (``types/artifact.raml``)."""

    uri: str
    extract: bool = True
    executable: bool = False
    cache: bool = False
    dest_path: str | None = None


class VersionInfo(_Model):
    """When instances or configuration last changed (timestamps like ``version``)."""

    last_scaling_at: str
    last_config_change_at: str


class AppDefinition(_Model):
    """A Marathon app, normalized: absolute ids, every default filled in (reference §2)."""

    id: str
    cmd: str | None = None
    args: list[str] | None = None
    cpus: float = 1.0
    mem: float = 128.0
    disk: float = 0.0
    gpus: int = 0
    instances: int = 1
    port_definitions: list[PortDefinition] = Field(
        default_factory=lambda: list(DEFAULT_PORT_DEFINITIONS)
    )
    require_ports: bool = False
    env: dict[str, str | dict[str, str]] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    constraints: list[list[str]] = Field(default_factory=list)
    health_checks: list[HealthCheckDef] = Field(default_factory=list)
    readiness_checks: list[ReadinessCheckDef] = Field(default_factory=list)
    upgrade_strategy: UpgradeStrategy = Field(default_factory=UpgradeStrategy)
    backoff_seconds: float = 1.0
    backoff_factor: float = 1.15
    max_launch_delay_seconds: float = 300.0
    kill_selection: str = "YOUNGEST_FIRST"
    task_kill_grace_period_seconds: int | None = None
    fetch: list[FetchUri] = Field(default_factory=list)
    user: str | None = None
    dependencies: list[str] = Field(default_factory=list)
    accepted_resource_roles: list[str] | None = None
    role: str | None = None
    executor: str = ""
    container: dict[str, Any] | None = None
    networks: list[dict[str, Any]] = Field(default_factory=lambda: [{"mode": "host"}])
    version: str | None = None
    version_info: VersionInfo | None = None
