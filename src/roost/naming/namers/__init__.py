"""Configured namers (Linkerd's ``namers:``), each mounted at ``/#/<prefix>``."""

from roost.naming.namers.dnssrv import DnsSrvNamer
from roost.naming.namers.fs import FsNamer, parse_endpoints
from roost.naming.namers.marathon import MarathonNamer

__all__ = ["DnsSrvNamer", "FsNamer", "MarathonNamer", "parse_endpoints"]
