"""Namers: what turns a path the dtab cannot rewrite further into bound names.

A :class:`Namer` answers ``lookup(path)`` with a name tree whose leaves are paths (to bind
further) or :class:`~roost.naming.name.BoundName`\\ s. Configured namers are mounted at
``/#/<prefix>`` and get the path after the prefix. The system namer, :data:`GLOBAL`, serves
``/$/...``:

* ``/$/inet/<host>/<port>[/residual…]`` and ``/$/fixedinet/…`` — one address (``/$/inet/<port>``
  is localhost), id ``/$/inet/<host>/<port>``;
* ``/$/fail[/…]`` — ``!``; ``/$/nil[/…]`` — ``$``;
* ``/$/<name>/…`` — a namer registered under ``<name>`` with :func:`register_namer` (Linkerd's
  rewriting namers are registered as ``io.buoyant.rinet`` and so on). Finagle instantiates
  any JVM class named there; roost only looks names up in its registry, so a dtab from a
  request header cannot import code. An unknown name is :class:`NamerNotFound`.

Anything else is ``~``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from roost.naming.addr import Addr, Address, Bound
from roost.naming.errors import NamingError
from roost.naming.name import BoundName
from roost.naming.path import Path
from roost.naming.tree import EMPTY, FAIL, NEG, Leaf, NameTree
from roost.naming.var import Var

Name = Path | BoundName
"""A leaf of a namer's answer: a path to bind further, or a bound name."""


class Namer(Protocol):
    async def lookup(self, path: Path) -> NameTree[Name]:
        """The tree ``path`` names here; ``NEG`` when it names nothing."""
        ...


class NamerNotFound(NamingError):
    """``/$/<name>`` names no registered namer (Finagle: ``ClassNotFoundException``)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no namer is registered as {name!r} (in /$/{name})")
        self.name = name


_REGISTRY: dict[str, Callable[[], Namer]] = {}


def register_namer(name: str, make: Callable[[], Namer]) -> None:
    """Serve ``/$/<name>/…`` with ``make()``'s namer (made once, on first use)."""
    _REGISTRY[name] = make


def inet_bound(host: str, port: int, kind: str = "inet") -> BoundName:
    """The bound name of one address: id ``/$/inet/<host>/<port>``."""
    addr: Var[Addr] = Var(Bound([Address(host, port)]))
    return BoundName(Path.of("$", kind, host, str(port)), addr)


def _port(label: str) -> int | None:
    if label.isdigit() and len(label) <= 5 and int(label) <= 65535:
        return int(label)
    return None


class GlobalNamer:
    """The ``/$`` namer (Finagle ``Namer.global``)."""

    def __init__(self) -> None:
        self._made: dict[str, Namer] = {}

    async def lookup(self, path: Path) -> NameTree[Name]:
        labels = path.labels
        if len(labels) < 2 or labels[0] != "$":
            return NEG
        kind, rest = labels[1], labels[2:]
        if kind == "fail":
            return FAIL
        if kind == "nil":
            return EMPTY
        if kind in ("inet", "fixedinet"):
            found = self._inet(kind, rest, path)
            if found is not None:
                return found
        return await self._registered(kind).lookup(path.drop(2))

    @staticmethod
    def _inet(kind: str, rest: tuple[str, ...], path: Path) -> NameTree[Name] | None:
        if len(rest) >= 2 and (port := _port(rest[1])) is not None:
            bound = inet_bound(rest[0], port, kind)
            bound.residual = path.drop(4)
            return Leaf(bound)
        if len(rest) >= 1 and (port := _port(rest[0])) is not None:
            bound = inet_bound("localhost", port, kind)
            bound.id = path.take(3)
            bound.residual = path.drop(3)
            return Leaf(bound)
        return None

    def _registered(self, name: str) -> Namer:
        namer = self._made.get(name)
        if namer is None:
            make = _REGISTRY.get(name)
            if make is None:
                raise NamerNotFound(name)
            namer = self._made[name] = make()
        return namer


GLOBAL = GlobalNamer()
