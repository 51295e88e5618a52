"""What a bound name resolves to (Finagle ``Addr``): :data:`PENDING` (not known yet),
:class:`Bound` addresses, :data:`NEG` (no such name) or :class:`Failed` (discovery broke).

An :class:`Address` is a host, a port and metadata (a weight, a zone); equal addresses are
the same endpoint whatever their metadata order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class Address:
    __slots__ = ("_key", "host", "meta", "port")

    def __init__(self, host: str, port: int, meta: Mapping[str, Any] | None = None) -> None:
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise ValueError(f"a port is an integer in 0-65535, not {port!r}")
        self.host = host
        self.port = port
        self.meta: dict[str, Any] = dict(meta or {})
        self._key = (host, port, tuple(sorted((k, repr(v)) for k, v in self.meta.items())))

    @property
    def weight(self) -> float:
        """The endpoint's share (``meta["weight"]``, default 1)."""
        return float(self.meta.get("weight", 1.0))

    @property
    def hostport(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Address) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"Address({self.hostport}{', ' + repr(self.meta) if self.meta else ''})"


class Addr:
    """The base of the four states."""

    __slots__ = ()


class _Pending(Addr):
    __slots__ = ()

    def __repr__(self) -> str:
        return "Addr.Pending"


class _Neg(Addr):
    __slots__ = ()

    def __repr__(self) -> str:
        return "Addr.Neg"


PENDING: Addr = _Pending()
NEG: Addr = _Neg()


class Bound(Addr):
    """Resolved: a set of addresses (possibly empty) and metadata of the whole set."""

    __slots__ = ("addresses", "meta")

    def __init__(self, addresses: Iterable[Address] = (), meta: Mapping[str, Any] | None = None):
        self.addresses = frozenset(addresses)
        self.meta: dict[str, Any] = dict(meta or {})

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Bound)
            and self.addresses == other.addresses
            and self.meta == other.meta
        )

    def __hash__(self) -> int:
        return hash(self.addresses)

    def __repr__(self) -> str:
        return f"Addr.Bound({sorted(a.hostport for a in self.addresses)})"


class Failed(Addr):
    """Discovery failed with ``error`` (a message)."""

    __slots__ = ("error",)

    def __init__(self, error: str) -> None:
        self.error = error

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Failed) and self.error == other.error

    def __hash__(self) -> int:
        return hash(self.error)

    def __repr__(self) -> str:
        return f"Addr.Failed({self.error!r})"
