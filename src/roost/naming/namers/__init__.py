"""Configured namers (Linkerd's ``namers:``), each mounted at ``/#/<prefix>``.

Each is imported when first asked for: a mesh loads the client library (httpx, dnslib,
kazoo) of the namers it configures, not of all of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from roost.naming.namers.dnssrv import DnsSrvNamer
    from roost.naming.namers.fs import FsNamer, parse_endpoints
    from roost.naming.namers.marathon import MarathonNamer
    from roost.naming.namers.serverset_member import parse_member
    from roost.naming.namers.serversets import ServersetsError, ServersetsNamer

_HOMES = {
    "DnsSrvNamer": "dnssrv",
    "FsNamer": "fs",
    "parse_endpoints": "fs",
    "MarathonNamer": "marathon",
    "parse_member": "serverset_member",
    "ServersetsError": "serversets",
    "ServersetsNamer": "serversets",
}

__all__ = [
    "DnsSrvNamer",
    "FsNamer",
    "MarathonNamer",
    "ServersetsError",
    "ServersetsNamer",
    "parse_endpoints",
    "parse_member",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
