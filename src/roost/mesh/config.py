"""``roost mesh --config FILE.yaml``: Linkerd 1's configuration, read and checked.

Top level: ``admin`` {ip, port 9990}, ``routers`` (at least one), ``namers``, ``telemetry``,
``usage``. ``telemetry``: ``io.l5d.prometheus`` {path, prefix} and at most one
``io.l5d.zipkin`` {host, port 9411, sampleRate 0.001}. A router: ``protocol: http``, ``label`` (default the protocol), ``servers``
[{ip 127.0.0.1, port 4140, maxConcurrentRequests, clearContext, maxCallDepth}], ``dtab``, ``dstPrefix``
(``/svc``), ``identifier`` (one or a list; default ``io.l5d.header.token`` on ``Host``),
``interpreter`` (``default`` or ``io.l5d.namerd.http``), ``client`` and ``service``
(``io.l5d.global`` or ``io.l5d.static`` with prefix-matched ``configs``), ``bindingTimeoutMs``
and ``bindingCache``.

:func:`load_config` raises :class:`ConfigError` naming the key path of every problem:
``routers[0].client.loadBalancer.decayTimeMs: Input should be greater than 0``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from roost.core.config import ConfigError as ConfigError
from roost.core.config import Port, load_yaml
from roost.mesh.config_parts import (
    ClientParams,
    HeaderTokenId,
    IdentifierConfig,
    PosInt,
    ServiceParams,
    Strict,
    check_path,
    read_prefix,
)
from roost.naming import Dtab, NamingSyntaxError, Path

# the namer models live in roost.naming (roost namerd reads them too); re-exported here
from roost.naming.namers.config import DnsSrvNamerConfig as DnsSrvNamerConfig
from roost.naming.namers.config import FsNamerConfig as FsNamerConfig
from roost.naming.namers.config import MarathonNamerConfig as MarathonNamerConfig
from roost.naming.namers.config import NamerConfig, no_transformers
from roost.naming.namers.config import ServersetsNamerConfig as ServersetsNamerConfig
from roost.naming.namers.config import ZkAddr as ZkAddr


class ServerConfig(Strict):
    ip: str = "127.0.0.1"
    port: Port = 4140
    maxConcurrentRequests: PosInt | None = None
    clearContext: bool = False
    maxCallDepth: PosInt = 1000


class GlobalClient(ClientParams):
    kind: Literal["io.l5d.global"] = "io.l5d.global"


class StaticClient(Strict):
    kind: Literal["io.l5d.static"]
    configs: list[ClientParams]


class GlobalService(ServiceParams):
    kind: Literal["io.l5d.global"] = "io.l5d.global"


class StaticService(Strict):
    kind: Literal["io.l5d.static"]
    configs: list[ServiceParams]


CLIENT_SETTINGS = ("loadBalancer", "failureAccrual", "requeueBudget",
                   "requestAttemptTimeoutMs", "hostConnectionPool")  # fmt: skip
SERVICE_SETTINGS = ("retries", "totalTimeoutMs", "responseClassifier")


def settings_for(
    config: GlobalClient | StaticClient | GlobalService | StaticService, name: Path
) -> dict[str, Any]:
    """The settings of a client (by bound id) or service (by logical name) that apply to
    ``name``: the global ones, or every static config whose ``prefix`` matches, later ones
    overriding earlier ones. Unset settings are absent."""
    keys = (
        SERVICE_SETTINGS if isinstance(config, GlobalService | StaticService) else CLIENT_SETTINGS
    )
    if isinstance(config, StaticClient | StaticService):
        layers: list[Any] = [c for c in config.configs if read_prefix(c.prefix).matches(name)]
    else:
        layers = [config]
    out: dict[str, Any] = {}
    for layer in layers:
        for key in keys:
            value = getattr(layer, key)
            if value is not None:
                out[key] = value
    return out


class DefaultInterpreter(Strict):
    kind: Literal["default"] = "default"
    transformers: Any = None

    _transformers = field_validator("transformers")(no_transformers)


class NamerdRetry(Strict):
    """How the interpreter backs off while namerd is unreachable (Linkerd's ``retry``)."""

    baseSeconds: PosInt = 1
    maxSeconds: PosInt = 600

    @model_validator(mode="after")
    def _ordered(self) -> NamerdRetry:
        if self.baseSeconds > self.maxSeconds:
            raise ValueError(
                f"baseSeconds ({self.baseSeconds}) must not exceed maxSeconds ({self.maxSeconds})"
            )
        return self


class NamerdHttpInterpreter(Strict):
    kind: Literal["io.l5d.namerd.http"]
    dst: str
    namespace: str = "default"
    experimental: bool = False
    retry: NamerdRetry | None = None
    transformers: Any = None

    _dst = field_validator("dst")(check_path)
    _transformers = field_validator("transformers")(no_transformers)


class BindingCacheConfig(Strict):
    paths: PosInt = 1000
    trees: PosInt = 1000
    bounds: PosInt = 1000
    clients: PosInt = 1000
    idleTtlSecs: PosInt = 600


def _default_identifiers() -> list[IdentifierConfig]:
    return [HeaderTokenId(kind="io.l5d.header.token")]


def _with_kind(value: Any, default: str) -> Any:
    if isinstance(value, dict) and "kind" not in value:
        return {"kind": default, **value}
    return value


class RouterConfig(Strict):
    protocol: Literal["http"]
    label: str | None = None
    servers: Annotated[list[ServerConfig], Field(min_length=1)] = [ServerConfig()]
    dtab: str = ""
    dstPrefix: str = "/svc"
    identifier: list[IdentifierConfig] = Field(default_factory=lambda: _default_identifiers())
    interpreter: Annotated[
        DefaultInterpreter | NamerdHttpInterpreter, Field(discriminator="kind")
    ] = DefaultInterpreter()
    client: Annotated[GlobalClient | StaticClient, Field(discriminator="kind")] = GlobalClient()
    service: Annotated[GlobalService | StaticService, Field(discriminator="kind")] = GlobalService()
    bindingTimeoutMs: PosInt = 10_000
    bindingCache: BindingCacheConfig = BindingCacheConfig()

    @model_validator(mode="before")
    @classmethod
    def _default_kinds(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("client", "service"):
                if key in data:
                    data[key] = _with_kind(data[key], "io.l5d.global")
            if "interpreter" in data:
                data["interpreter"] = _with_kind(data["interpreter"], "default")
            if isinstance(data.get("identifier"), dict):  # one identifier or a list of them
                data["identifier"] = [data["identifier"]]
        return data

    @field_validator("dtab")
    @classmethod
    def _dtab(cls, value: str) -> str:
        try:
            Dtab.read(value)
        except NamingSyntaxError as exc:
            raise ValueError(f"not a dtab: {exc}") from None
        return value

    _prefix = field_validator("dstPrefix")(check_path)

    @property
    def name(self) -> str:
        return self.label or self.protocol


ADMIN_PAGES = frozenset(("/", "/dashboard", "/admin/ping", "/health", "/admin/metrics.json",
                         "/admin/metrics.json/", "/config.json", "/bound-names.json",
                         "/delegator.json"))  # fmt: skip
"""The admin server's own pages (``roost.mesh.app``), which a telemeter may not take."""

_METRIC_PREFIX = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


class PrometheusConfig(Strict):
    """Prometheus text at ``path`` on the admin server, every metric name starting with
    ``prefix`` as given (Linkerd's ``PrometheusTelemeter``: ``some_prefix_rt_…``)."""

    kind: Literal["io.l5d.prometheus"]
    path: str = "/admin/metrics/prometheus"
    prefix: str = ""

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"must start with '/', got {value!r}")
        if value in ADMIN_PAGES:
            raise ValueError(f"{value} is an admin page of its own")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if value and not _METRIC_PREFIX.fullmatch(value):
            raise ValueError(f"not the start of a Prometheus metric name: {value!r}")
        return value


class ZipkinConfig(Strict):
    """Spans to a Zipkin collector's v2 HTTP API (``http://host:port/api/v2/spans``)."""

    kind: Literal["io.l5d.zipkin"]
    host: Annotated[str, Field(min_length=1)] = "localhost"
    port: Annotated[int, Field(ge=1, le=65535, strict=True)] = 9411
    sampleRate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.001

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/api/v2/spans"


TelemeterConfig = Annotated[PrometheusConfig | ZipkinConfig, Field(discriminator="kind")]


def _check_telemeters(telemeters: list[TelemeterConfig]) -> list[TelemeterConfig]:
    zipkins = [i for i, t in enumerate(telemeters) if isinstance(t, ZipkinConfig)]
    if len(zipkins) > 1:  # Linkerd broadcasts to every tracer; roost exports to one collector
        where = ", ".join(f"telemetry[{i}]" for i in zipkins)
        raise ValueError(f"only one io.l5d.zipkin telemeter is supported, got {where}")
    paths = [t.path for t in telemeters if isinstance(t, PrometheusConfig)]
    for path in paths:
        if paths.count(path) > 1:
            raise ValueError(f"two io.l5d.prometheus telemeters serve {path}")
    return telemeters


class AdminConfig(Strict):
    ip: str = "127.0.0.1"
    port: Port = 9990


class UsageConfig(Strict):
    enabled: bool = False
    orgId: str | None = None


class MeshConfig(Strict):
    admin: AdminConfig = AdminConfig()
    routers: Annotated[list[RouterConfig], Field(min_length=1)]
    namers: list[NamerConfig] = []
    telemetry: list[TelemeterConfig] = []
    usage: UsageConfig = UsageConfig()

    _telemetry = field_validator("telemetry")(_check_telemeters)

    @model_validator(mode="after")
    def _unique(self) -> MeshConfig:
        labels = [r.name for r in self.routers]
        if len(set(labels)) != len(labels):
            raise ValueError(f"router labels must be unique, got {labels}")
        ports = [(s.ip, s.port) for r in self.routers for s in r.servers if s.port != 0]
        if len(set(ports)) != len(ports):
            raise ValueError("two servers listen on the same ip and port")
        return self


_TAGS = ("io.l5d.", "io.roost.", "p2c", "ewma", "aperture", "roundRobin", "constant", "jittered", "none",
         "default", "function-")  # fmt: skip
"""Kinds that pydantic puts into an error's location (``roost.core.config.key_path``)."""


def load_config(text: str) -> MeshConfig:
    """Parse and check a YAML (or JSON) configuration."""
    return load_yaml(MeshConfig, text, tags=_TAGS, expected="a mapping with a 'routers' key")
