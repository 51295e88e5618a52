"""HTTP identifiers: how a request gets its logical name (Linkerd ``identifier`` kinds).

An identifier looks at a request and answers :class:`Identified` (the destination path, under
the router's ``dstPrefix``, and the request to forward — some identifiers rewrite it) or
:class:`Unidentified` (why: the router answers 400). A router tries its identifiers in order;
the first that identifies wins (:class:`IdentifierChain`).

==========================  ================================================================
``io.l5d.header.token``     one header's value as one label: ``Host: web`` → ``/svc/web``
                            (the default, on ``Host``)
``io.l5d.methodAndHost``    ``/svc/1.1/GET/<host, lower-cased>[/<uri path…>]``; HTTP/1.0:
                            ``/svc/1.0/GET[/<uri path…>]`` (``httpUriInDst`` adds the path)
``io.l5d.path``             the first ``segments`` labels of the uri path (``consume`` strips
                            them from the uri forwarded); fewer labels: unidentified
``io.l5d.header``           a header (``l5d-name``) whose value is a path: ``/a/b`` → ``/svc/a/b``
``io.l5d.static``           always the configured path
==========================  ================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from roost.naming import NamingSyntaxError, Path
from roost.rpc.http import Request

DEFAULT_PREFIX = Path.of("svc")


@dataclass(frozen=True, slots=True)
class Identified:
    dst: Path
    request: Request


@dataclass(frozen=True, slots=True)
class Unidentified:
    reason: str


Identification = Identified | Unidentified


class Identifier(Protocol):
    def __call__(self, req: Request) -> Identification: ...


def _segments(uri_path: str) -> list[str]:
    return [s for s in uri_path.split("/") if s]


class HeaderTokenIdentifier:
    """``io.l5d.header.token``: the value of ``header`` as one label."""

    def __init__(self, prefix: Path = DEFAULT_PREFIX, header: str = "Host") -> None:
        self.prefix = prefix
        self.header = header

    def __call__(self, req: Request) -> Identification:
        value = req.headers.get(self.header)
        if not value:
            return Unidentified(f"{self.header} header is absent or empty")
        return Identified(self.prefix + Path.of(value), req)


class MethodAndHostIdentifier:
    """``io.l5d.methodAndHost``: version, method and (HTTP/1.1) the lower-cased Host."""

    def __init__(self, prefix: Path = DEFAULT_PREFIX, http_uri_in_dst: bool = False) -> None:
        self.prefix = prefix
        self.http_uri_in_dst = http_uri_in_dst

    def __call__(self, req: Request) -> Identification:
        labels = [req.version, req.method]
        if req.version != "1.0":
            host = req.headers.get("host")
            if not host:
                return Unidentified("Host header is absent or empty")
            labels.append(host.lower())
        if self.http_uri_in_dst:
            labels += _segments(req.path)
        return Identified(self.prefix + Path.of(*labels), req)


class PathIdentifier:
    """``io.l5d.path``: the first ``segments`` labels of the uri path."""

    def __init__(
        self, prefix: Path = DEFAULT_PREFIX, segments: int = 1, consume: bool = False
    ) -> None:
        if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
            raise ValueError(f"segments must be an integer >= 1, got {segments!r}")
        self.prefix = prefix
        self.segments = segments
        self.consume = consume

    def __call__(self, req: Request) -> Identification:
        path, sep, query = req.target.partition("?")
        parts = _segments(path)
        if len(parts) < self.segments:
            return Unidentified(f"the path {path!r} has fewer than {self.segments} segment(s)")
        dst = self.prefix + Path.of(*parts[: self.segments])
        if not self.consume:
            return Identified(dst, req)
        rest = "/" + "/".join(parts[self.segments :])
        return Identified(dst, replace(req, target=rest + sep + query))


class HeaderPathIdentifier:
    """``io.l5d.header``: a header whose value is a path, appended to the prefix."""

    def __init__(self, prefix: Path = DEFAULT_PREFIX, header: str = "l5d-name") -> None:
        self.prefix = prefix
        self.header = header

    def __call__(self, req: Request) -> Identification:
        value = req.headers.get(self.header)
        if not value:
            return Unidentified(f"{self.header} header is absent or empty")
        try:
            return Identified(self.prefix + Path.read(value), req)
        except NamingSyntaxError as exc:
            return Unidentified(f"{self.header} header is not a path: {exc}")


class StaticIdentifier:
    """``io.l5d.static``: every request has the same name."""

    def __init__(self, path: Path, prefix: Path = DEFAULT_PREFIX) -> None:
        self.dst = prefix + path

    def __call__(self, req: Request) -> Identification:
        return Identified(self.dst, req)


class IdentifierChain:
    """Tries each identifier in order; the first that identifies wins."""

    def __init__(self, identifiers: Sequence[Identifier]) -> None:
        if not identifiers:
            raise ValueError("an identifier chain needs at least one identifier")
        self.identifiers = tuple(identifiers)

    def __call__(self, req: Request) -> Identification:
        reasons = []
        for identify in self.identifiers:
            found = identify(req)
            if isinstance(found, Identified):
                return found
            reasons.append(found.reason)
        return Unidentified("; ".join(reasons))
