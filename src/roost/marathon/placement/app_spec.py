"""What placement reads from an app: the fields of ``roost.marathon.appdef.AppDefinition``.

Placement is typed against these protocols rather than the pydantic model so that it depends
only on the handful of fields it uses; ``AppDefinition`` and ``PortDefinition`` satisfy them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Self


class PortSpec(Protocol):
    """One ``portDefinitions`` entry; ``port`` 0 asks for a service port to be assigned."""

    @property
    def port(self) -> int: ...

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Self: ...


class AppSpec(Protocol):
    """The app fields placement uses (snake_case, normalized as ``parse_app`` returns them)."""

    @property
    def id(self) -> str: ...

    @property
    def cpus(self) -> float: ...

    @property
    def mem(self) -> float: ...

    @property
    def disk(self) -> float: ...

    @property
    def gpus(self) -> float: ...

    @property
    def port_definitions(self) -> Sequence[PortSpec]: ...

    @property
    def require_ports(self) -> bool: ...

    @property
    def constraints(self) -> Sequence[Sequence[str]]: ...

    @property
    def accepted_resource_roles(self) -> Sequence[str] | None: ...

    @property
    def role(self) -> str | None: ...

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Self: ...
