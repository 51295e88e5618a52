"""A serverset's members: the JSON each one announces (Finagle ``serverset2/Entry.scala``,
``Endpoint.parseJson``), parsed, and the addresses they make::

    {"serviceEndpoint": {"host": "10.0.0.1", "port": 8080},
     "additionalEndpoints": {"http": {"host": "10.0.0.1", "port": 8081}},
     "status": "ALIVE", "shard": 0}

A serverset is a znode; its members are the children named ``member_…`` (ephemeral
sequential nodes). Only ``ALIVE`` members are served; like Finagle, a member without a
``status`` is ``UNKNOWN`` and not served. A name without ``:endpoint`` uses each member's
``serviceEndpoint``, ``…/web:http`` its ``additionalEndpoints["http"]``; a member without that
endpoint is left out. The ``shard`` travels as the address's ``shard`` metadata.

A member whose data cannot be used (not JSON, an endpoint without a host or a port) is left
out with one warning naming its znode; one that parsed before keeps its last good endpoints.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from roost.core.logs import kv
from roost.naming.addr import NEG as ADDR_NEG
from roost.naming.addr import Addr, Address, Bound
from roost.naming.var import Var

log = logging.getLogger(__name__)

MEMBER_PREFIX = "member_"
ALIVE = "ALIVE"


@dataclass(frozen=True)
class Member:
    """A parsed member: its status, shard and endpoints (``None`` names the service
    endpoint)."""

    status: str
    shard: int | None
    endpoints: Mapping[str | None, tuple[str, int]]


def _endpoint(value: Any, where: str) -> tuple[str, int]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected {{host, port}}, got {value!r}")
    host, port = value.get("host"), value.get("port")
    if not isinstance(host, str) or not host:
        raise ValueError(f"{where}.host: expected a host name, got {host!r}")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port <= 65535:
        raise ValueError(f"{where}.port: expected 1-65535, got {port!r}")
    return host, port


def parse_member(data: bytes, source: str = "<member>") -> Member:
    """Parse a member's data; ``ValueError`` naming ``source`` for anything unusable."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{source}: not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{source}: expected a JSON object, got {type(doc).__name__}")
    try:
        endpoints: dict[str | None, tuple[str, int]] = {}
        if doc.get("serviceEndpoint") is not None:
            endpoints[None] = _endpoint(doc["serviceEndpoint"], "serviceEndpoint")
        extra = doc.get("additionalEndpoints") or {}
        if not isinstance(extra, dict):
            raise ValueError(f"additionalEndpoints: expected an object, got {extra!r}")
        for name, value in extra.items():
            endpoints[name] = _endpoint(value, f"additionalEndpoints.{name}")
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None
    status, shard = doc.get("status"), doc.get("shard")
    return Member(
        status=status if isinstance(status, str) else "UNKNOWN",
        shard=shard if isinstance(shard, int) and not isinstance(shard, bool) else None,
        endpoints=endpoints,
    )


def split_endpoint(label: str) -> tuple[str, str | None] | None:
    """``web:http`` → (``web``, ``http``); ``web`` → (``web``, None); ``None`` if unusable."""
    name, sep, endpoint = label.partition(":")
    if not name or (sep and not endpoint):
        return None
    return name, (endpoint if sep else None)


def znode_of(labels: Sequence[str]) -> tuple[str, str | None] | None:
    """``("discovery", "web:http")`` → (``/discovery/web``, ``http``); ``None`` if unusable."""
    split = split_endpoint(labels[-1])
    if split is None:
        return None
    segments = [*labels[:-1], split[0]]
    if any("/" in s or "\x00" in s or s in (".", "..") for s in segments):
        return None
    return "/" + "/".join(segments), split[1]


def addresses(members: Iterable[Member], endpoint: str | None) -> list[Address]:
    """The addresses of the ``ALIVE`` members that have ``endpoint``."""
    out = []
    for member in members:
        found = member.endpoints.get(endpoint)
        if member.status == ALIVE and found is not None:
            meta = {"shard": member.shard} if member.shard is not None else None
            out.append(Address(found[0], found[1], meta))
    return out


def read_members(
    znode: str, found: Mapping[str, bytes], last: Mapping[str, Member], warned: set[str]
) -> dict[str, Member]:
    """Parse each member's data. A malformed one keeps its ``last`` parse, or is left out;
    either is logged once (``warned`` holds the znodes already warned about)."""
    out: dict[str, Member] = {}
    for name, data in found.items():
        source = f"{znode}/{name}"
        try:
            out[name] = parse_member(data, source)
            warned.discard(source)
        except ValueError as exc:
            kept = last.get(name)
            if kept is not None:
                out[name] = kept
            if source not in warned:
                warned.add(source)
                fields = kv(member=source, error=str(exc).removeprefix(f"{source}: "))
                if kept is None:
                    log.warning("io.l5d.serversets: malformed member skipped", extra=fields)
                else:
                    log.warning("io.l5d.serversets: malformed member kept as it was", extra=fields)
    return out


class Serverset:
    """A watched znode: its members (last good parses) and a Var per endpoint looked up."""

    def __init__(self, znode: str) -> None:
        self.znode = znode
        self.exists = False
        self.members: dict[str, Member] = {}
        self.vars: dict[str | None, Var[Addr]] = {}
        self.lock = asyncio.Lock()  # one read at a time, so an older one never lands last

    def addr(self, endpoint: str | None) -> Addr:
        return Bound(addresses(self.members.values(), endpoint)) if self.exists else ADDR_NEG

    def serves(self, endpoint: str | None) -> bool:
        return self.exists and bool(addresses(self.members.values(), endpoint))

    def var(self, endpoint: str | None) -> Var[Addr]:
        if endpoint not in self.vars:
            self.vars[endpoint] = Var(self.addr(endpoint))
        return self.vars[endpoint]

    def update(self, found: Mapping[str, bytes] | None, warned: set[str]) -> None:
        """Take a fresh read (``None``: the znode is gone) and push it to the Vars."""
        members = read_members(self.znode, found or {}, self.members, warned)
        warned.difference_update(
            f"{self.znode}/{gone}" for gone in self.members.keys() - members.keys()
        )
        self.exists = found is not None
        self.members = members
        for endpoint, var in self.vars.items():
            var.set(self.addr(endpoint))
