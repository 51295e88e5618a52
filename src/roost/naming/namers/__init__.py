"""Configured namers (Linkerd's ``namers:``), each mounted at ``/#/<prefix>``."""

from roost.naming.namers.dnssrv import DnsSrvNamer
from roost.naming.namers.fs import FsNamer, parse_endpoints

__all__ = ["DnsSrvNamer", "FsNamer", "parse_endpoints"]
