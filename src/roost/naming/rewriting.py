"""Linkerd's utility namers, served under ``/$/io.buoyant.*`` without configuration. Each
rewrites the path it is given and hands the result back to be bound again (``~`` when the
path does not have its shape):

==================================  =====================================  ========================
``/$/io.buoyant.rinet``             ``/<port>/<host>/rest``                ``/$/inet/<host>/<port>``
``/$/io.buoyant.hostportPfx``       ``/pfx/<host>:<port>/rest``            ``/pfx/<host>/<port>/rest``
``/$/io.buoyant.porthostPfx``       ``/pfx/<host>:<port>/rest``            ``/pfx/<port>/<host>/rest``
``/$/io.buoyant.http.anyMethod``    ``/GET/rest``                          ``/rest``
``/$/io.buoyant.http.anyMethodPfx`` ``/pfx/GET/rest``                      ``/pfx/rest``
``/$/io.buoyant.http.anyHost``      ``/<host>/rest``                       ``/rest``
``/$/io.buoyant.http.anyHostPfx``   ``/pfx/<host>/rest``                   ``/pfx/rest``
``/$/io.buoyant.http.subdomainOf``  ``/buoyant.io/foo.buoyant.io/rest``    ``/foo/rest``
``…subdomainOfPfx``                 ``/buoyant.io/pfx/foo.buoyant.io/rest`` ``/pfx/foo/rest``
``…domainToPath``                   ``/foo.buoyant.io/rest``               ``/io/buoyant/foo/rest``
``…domainToPathPfx``                ``/pfx/foo.buoyant.io/rest``           ``/pfx/io/buoyant/foo/rest``
==================================  =====================================  ========================

A method is upper-case letters; a host is letters, digits and ``. : _ -`` (a port on it is
ignored by ``subdomainOf``); the port of ``host:port`` is a DNS label of at most 63
characters. (Linkerd 1 ``namer/core`` ``http.scala``, ``hostport.scala``, ``rinet.scala``.)
"""

from __future__ import annotations

import re
from collections.abc import Callable

from roost.naming.namer import Name, inet_bound, register_namer
from roost.naming.path import Path
from roost.naming.tree import NEG, Leaf, NameTree

_METHOD = re.compile(r"[A-Z]+")
_HOST = re.compile(r"[A-Za-z0-9.:_-]+")
_DNS_LABEL = re.compile(r"[a-z0-9][-a-z0-9]*[a-z0-9]?")

Rewrite = Callable[[tuple[str, ...]], tuple[str, ...] | None]
"""The labels of a path to the labels it becomes, or ``None`` (not this namer's shape)."""


class RewritingNamer:
    """A namer that only rewrites: ``rewrite(labels)`` takes the labels it needs from the
    front of the path and the rest of the path is appended unchanged."""

    def __init__(self, need: int, rewrite: Rewrite) -> None:
        self.need = need
        self.rewrite = rewrite

    async def lookup(self, path: Path) -> NameTree[Name]:
        if len(path) < self.need:
            return NEG
        new = self.rewrite(path.labels[: self.need])
        if new is None:
            return NEG
        return Leaf(Path.of(*new) + path.drop(self.need))


class RinetNamer:
    """``/<port>/<host>/rest``: the address ``host:port``, id ``/$/inet/<host>/<port>``."""

    async def lookup(self, path: Path) -> NameTree[Name]:
        if len(path) < 2:
            return NEG
        port, host = path.labels[:2]
        if not port.isdigit() or int(port) > 65535:
            return NEG
        bound = inet_bound(host, int(port))
        bound.residual = path.drop(2)
        return Leaf(bound)


def _host_port(s: str) -> tuple[str, str] | None:
    parts = s.split(":")
    if len(parts) == 2 and len(parts[1]) <= 63 and _DNS_LABEL.fullmatch(parts[1]):
        return parts[0], parts[1]
    return None


def _subdomain(domain: str, host: str) -> str | None:
    if not (_HOST.fullmatch(domain) and _HOST.fullmatch(host)):
        return None
    colon = host.find(":")
    if colon > 0:
        host = host[:colon]
    suffix = "." + domain
    sub = host[: -len(suffix)] if host.endswith(suffix) else ""
    return sub or None


def _any_method(labels: tuple[str, ...]) -> tuple[str, ...] | None:
    return () if _METHOD.fullmatch(labels[0]) else None


def _any_method_pfx(labels: tuple[str, ...]) -> tuple[str, ...] | None:
    return (labels[0],) if _METHOD.fullmatch(labels[1]) else None


def _any_host(labels: tuple[str, ...]) -> tuple[str, ...] | None:
    return () if _HOST.fullmatch(labels[0]) else None


def _any_host_pfx(labels: tuple[str, ...]) -> tuple[str, ...] | None:
    return (labels[0],) if _HOST.fullmatch(labels[1]) else None


def _subdomain_of(labels: tuple[str, ...]) -> tuple[str, ...] | None:
    sub = _subdomain(labels[0], labels[1])
    return None if sub is None else (sub,)


def _subdomain_of_pfx(labels: tuple[str, ...]) -> tuple[str, ...] | None:
    sub = _subdomain(labels[0], labels[2])
    return None if sub is None else (labels[1], sub)


def _reversed_domain(host: str) -> tuple[str, ...] | None:
    if not _HOST.fullmatch(host):
        return None
    parts = tuple(reversed(host.split(".")))
    return parts if all(parts) else None  # "a..b" has an empty label: not a path


def _domain_to_path(labels: tuple[str, ...]) -> tuple[str, ...] | None:
    return _reversed_domain(labels[0])


def _domain_to_path_pfx(labels: tuple[str, ...]) -> tuple[str, ...] | None:
    parts = _reversed_domain(labels[1])
    return None if parts is None else (labels[0], *parts)


def _hostport_pfx(labels: tuple[str, ...]) -> tuple[str, ...] | None:
    hp = _host_port(labels[1])
    return None if hp is None or not hp[0] else (labels[0], hp[0], hp[1])


def _porthost_pfx(labels: tuple[str, ...]) -> tuple[str, ...] | None:
    hp = _host_port(labels[1])
    return None if hp is None or not hp[0] else (labels[0], hp[1], hp[0])


REWRITERS: dict[str, tuple[int, Rewrite]] = {
    "io.buoyant.hostportPfx": (2, _hostport_pfx),
    "io.buoyant.porthostPfx": (2, _porthost_pfx),
    "io.buoyant.http.anyMethod": (1, _any_method),
    "io.buoyant.http.anyMethodPfx": (2, _any_method_pfx),
    "io.buoyant.http.anyHost": (1, _any_host),
    "io.buoyant.http.anyHostPfx": (2, _any_host_pfx),
    "io.buoyant.http.subdomainOf": (2, _subdomain_of),
    "io.buoyant.http.subdomainOfPfx": (3, _subdomain_of_pfx),
    "io.buoyant.http.domainToPath": (1, _domain_to_path),
    "io.buoyant.http.domainToPathPfx": (2, _domain_to_path_pfx),
}


def _maker(need: int, rewrite: Rewrite) -> Callable[[], RewritingNamer]:
    return lambda: RewritingNamer(need, rewrite)


def _register() -> None:
    register_namer("io.buoyant.rinet", RinetNamer)
    for name, (need, rewrite) in REWRITERS.items():
        register_namer(name, _maker(need, rewrite))


_register()
