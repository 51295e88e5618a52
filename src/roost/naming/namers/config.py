"""Linkerd's ``namers:`` section (``linkerd/docs/namer.md``), read the same way by
``roost mesh`` and ``roost namerd``: one model per namer kind, with Linkerd's defaults, and
:func:`build_namers`, which makes the configured namers and mounts each at ``/#/<prefix>``.

=====================  =========================================================================
``io.l5d.fs``          ``rootDir`` (relative to the configuration file's directory)
``io.l5d.marathon``    ``host`` (marathon.mesos), ``port`` (80), ``uriPrefix``, ``ttlMs`` (5000),
                       ``useHealthCheck``
``io.l5d.dnssrv``      ``experimental: true`` (required), ``refreshIntervalSeconds`` (5),
                       ``dnsHosts``, ``domain`` (appended to names without a final dot)
``io.l5d.serversets``  ``zkAddrs``: at least one {``host``, ``port`` (2181)}
=====================  =========================================================================

Every namer also takes ``prefix`` (default: its kind) and ``experimental``; Linkerd's
``transformers`` are refused by name (roost has none).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal, Protocol

from pydantic import Field, field_validator, model_validator

from roost.core.config import Port, PosInt, Strict
from roost.naming.binding import Mounts, mount
from roost.naming.namer import Namer
from roost.naming.path import Path


def no_transformers(value: object) -> None:
    """Linkerd's ``transformers`` (rewriting bound addresses) are not built in roost: a config
    that sets them stops with this rather than a generic unknown-key error."""
    if value is not None:
        raise ValueError("transformers are not supported by roost")
    return None


class _Namer(Strict):
    """What every namer takes (Linkerd's ``NamerConfig``): ``prefix`` (default: the kind),
    ``experimental`` and ``transformers`` (refused)."""

    prefix: str | None = None
    experimental: bool = False
    transformers: Any = None

    _transformers = field_validator("transformers")(no_transformers)


class FsNamerConfig(_Namer):
    kind: Literal["io.l5d.fs"]
    rootDir: str


class MarathonNamerConfig(_Namer):
    kind: Literal["io.l5d.marathon"]
    host: str = "marathon.mesos"
    port: Port = 80
    uriPrefix: str = ""
    ttlMs: PosInt = 5000
    useHealthCheck: bool = False


class DnsSrvNamerConfig(_Namer):
    kind: Literal["io.l5d.dnssrv"]
    refreshIntervalSeconds: PosInt = 5
    dnsHosts: list[str] | None = None
    domain: str | None = None

    @model_validator(mode="after")
    def _experimental(self) -> DnsSrvNamerConfig:
        if not self.experimental:
            raise ValueError("io.l5d.dnssrv is experimental: set experimental: true")
        return self


class ZkAddr(Strict):
    """One ZooKeeper server of ``io.l5d.serversets`` (Linkerd's ``ZkAddr``: port 2181 unless
    given)."""

    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535, strict=True)] = 2181

    @property
    def addr(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


class ServersetsNamerConfig(_Namer):
    kind: Literal["io.l5d.serversets"]
    zkAddrs: Annotated[list[ZkAddr], Field(min_length=1)]


NamerConfig = Annotated[
    FsNamerConfig | MarathonNamerConfig | DnsSrvNamerConfig | ServersetsNamerConfig,
    Field(discriminator="kind"),
]


class ConfiguredNamer(Namer, Protocol):
    """A namer made from configuration: it owns watches and clients until closed."""

    async def aclose(self) -> None: ...


def enumerated_names(namers: Iterable[object]) -> set[str]:
    """The bound ids the namers that can list their names (``io.l5d.fs``) know now."""
    out: set[str] = set()
    for namer in namers:
        names = getattr(namer, "names", None)
        if callable(names):
            out.update(p.show for p in names())
    return out


def build_namers(
    namers: Sequence[NamerConfig], base_dir: FilePath
) -> tuple[Mounts, list[ConfiguredNamer]]:
    """The configured namers mounted at ``/#/<prefix>`` (default: their kind), in order, and
    the namers themselves, for the caller to ``aclose`` when it stops."""
    mounts: list[tuple[Path, Namer]] = []
    owned: list[ConfiguredNamer] = []
    for n in namers:
        prefix = (n.prefix or n.kind).strip("/").removeprefix("#/")
        namer: ConfiguredNamer
        # each namer's module (and its client library) is loaded only when configured
        if isinstance(n, FsNamerConfig):
            from roost.naming.namers.fs import FsNamer

            namer = FsNamer(base_dir / n.rootDir, prefix=prefix)
        elif isinstance(n, MarathonNamerConfig):
            from roost.naming.namers.marathon import MarathonNamer

            namer = MarathonNamer(
                f"http://{n.host}:{n.port}",
                uri_prefix=n.uriPrefix,
                prefix=prefix,
                ttl=n.ttlMs / 1000,
                use_health_check=n.useHealthCheck,
            )
        elif isinstance(n, ServersetsNamerConfig):
            from roost.naming.namers.serversets import ServersetsNamer

            namer = ServersetsNamer([a.addr for a in n.zkAddrs], prefix=prefix)
        else:
            from roost.naming.namers.dnssrv import DnsSrvNamer

            namer = DnsSrvNamer(
                n.dnsHosts, prefix=prefix, interval=n.refreshIntervalSeconds, domain=n.domain
            )
        mounts.append(mount(prefix, namer))
        owned.append(namer)
    return mounts, owned
