"""``roost namerd --config namerd.yaml``: namerd's configuration (Linkerd
``namerd/docs/config.md``), as far as roost serves it.

=============  ==================================================================================
``admin``      optional {``ip`` 127.0.0.1, ``port`` 9991}: a second server with ``/admin/ping``,
               ``/health`` and ``/metrics`` (the API port serves them too)
``storage``    ``io.l5d.inMemory`` {``namespaces``: {ns: dtab text}, written at start} or
               ``io.roost.store`` {``url``: a ``roost.coord`` store URL, as ``--store``};
               default ``io.roost.store`` at ``sqlite:///.roost/namerd/namerd.db``
``namers``     the list ``roost mesh`` reads (``roost.naming.namers.config``), mounted at
               ``/#/<prefix>``
``interfaces`` one ``io.l5d.httpController`` {``ip`` 127.0.0.1, ``port`` 4180}, the default
=============  ==================================================================================

Upstream's other kinds (storage in ``io.l5d.zk``, ``io.l5d.k8s``, …; the
``io.l5d.thriftNameInterpreter`` and ``io.l5d.mesh`` interfaces) are refused by key path, as
is any unknown key: ``interfaces[0].kind: io.l5d.mesh is not supported by roost namerd; use
io.l5d.httpController``.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from roost.core.config import ConfigError as ConfigError
from roost.core.config import Port, Strict, load_yaml
from roost.namerd.dtabs import NamespaceError, check_namespace
from roost.naming import Dtab, NamingSyntaxError
from roost.naming.namers.config import NamerConfig

DEFAULT_STORE = "sqlite:///.roost/namerd/namerd.db"
_UNSUPPORTED = "io.roost.unsupported"  # a tag: key_path leaves it out of error locations


class _Unsupported(Strict):
    """Any other ``kind``: validating it fails with what is supported instead."""

    SUPPORTED: ClassVar[tuple[str, ...]] = ()
    kind: str

    @model_validator(mode="before")
    @classmethod
    def _kind_only(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(f"expected a mapping with a kind, got {data!r}")
        # the other keys belong to a kind roost does not serve: one message is enough
        return {"kind": data["kind"]} if "kind" in data else data

    @field_validator("kind")
    @classmethod
    def _refuse(cls, kind: str) -> str:
        raise ValueError(
            f"{kind} is not supported by roost namerd; use {' or '.join(cls.SUPPORTED)}"
        )


def _by_kind(supported: tuple[str, ...]) -> Discriminator:
    def tag(value: Any) -> str:
        kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
        return kind if kind in supported else _UNSUPPORTED

    return Discriminator(tag)


class InMemoryStorage(Strict):
    kind: Literal["io.l5d.inMemory"]
    namespaces: dict[str, str] = {}

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: dict[str, str]) -> dict[str, str]:
        for ns, text in value.items():
            try:
                check_namespace(ns)
                Dtab.read(text)
            except (NamespaceError, NamingSyntaxError) as exc:
                raise ValueError(f"{ns}: {exc}") from None
        return value


class RoostStorage(Strict):
    """roost's own: the dtabs in a ``roost.coord`` store, shared by every namerd using it."""

    kind: Literal["io.roost.store"]
    url: str

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value.partition("://")[0].lower() not in ("sqlite", "memory"):
            raise ValueError(f"expected sqlite:///path.db or memory://, got {value!r}")
        return value


class UnsupportedStorage(_Unsupported):
    SUPPORTED = ("io.l5d.inMemory", "io.roost.store")


StorageConfig = Annotated[
    Annotated[InMemoryStorage, Tag("io.l5d.inMemory")]
    | Annotated[RoostStorage, Tag("io.roost.store")]
    | Annotated[UnsupportedStorage, Tag(_UNSUPPORTED)],
    _by_kind(UnsupportedStorage.SUPPORTED),
]


class HttpControllerConfig(Strict):
    """namerd's HTTP API (``roost.namerd.api``)."""

    kind: Literal["io.l5d.httpController"]
    ip: str = "127.0.0.1"
    port: Port = 4180


class UnsupportedInterface(_Unsupported):
    SUPPORTED = ("io.l5d.httpController",)


InterfaceConfig = Annotated[
    Annotated[HttpControllerConfig, Tag("io.l5d.httpController")]
    | Annotated[UnsupportedInterface, Tag(_UNSUPPORTED)],
    _by_kind(UnsupportedInterface.SUPPORTED),
]


class AdminConfig(Strict):
    ip: str = "127.0.0.1"
    port: Port = 9991


class NamerdConfig(Strict):
    admin: AdminConfig | None = None
    storage: StorageConfig = RoostStorage(kind="io.roost.store", url=DEFAULT_STORE)
    namers: list[NamerConfig] = []
    interfaces: Annotated[list[InterfaceConfig], Field(min_length=1)] = [
        HttpControllerConfig(kind="io.l5d.httpController")
    ]

    @field_validator("interfaces")
    @classmethod
    def _one_interface(cls, value: list[InterfaceConfig]) -> list[InterfaceConfig]:
        if len(value) > 1:
            raise ValueError(f"roost namerd serves one io.l5d.httpController, got {len(value)}")
        return value

    @property
    def http(self) -> HttpControllerConfig:
        interface = self.interfaces[0]
        assert isinstance(interface, HttpControllerConfig)  # the others fail validation
        return interface

    @model_validator(mode="after")
    def _ports(self) -> NamerdConfig:
        if self.admin is not None and self.admin.port != 0:
            http = self.http
            if (self.admin.ip, self.admin.port) == (http.ip, http.port):
                raise ValueError(f"admin and interfaces[0] both listen on {http.ip}:{http.port}")
        return self


def load_config(text: str) -> NamerdConfig:
    """Parse and check a YAML (or JSON) namerd configuration."""
    return load_yaml(NamerdConfig, text, expected="a mapping (storage, namers, interfaces)")
