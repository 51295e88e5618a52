"""Dtab namespaces in a :class:`roost.coord.Store` (namerd's ``DtabStore``).

A namespace (letters, digits, ``-`` and ``_``) is the node ``/namerd/dtabs/<ns>`` holding
the dtab's text. Its version is the node's version plus one, so the first write is version
1 — namerd's in-memory store — and its ``ETag`` is the version as 8 big-endian bytes in
base64 (``AAAAAAAAAAE=``). Writes that name a version are compare-and-set.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import AsyncIterator

from roost.coord.errors import BadVersionError, NodeExistsError, NoNodeError
from roost.coord.store import Store
from roost.naming import Dtab

ROOT = "/namerd/dtabs"
NAMESPACE = re.compile(r"[A-Za-z0-9_-]{1,128}")


class NamespaceError(ValueError):
    """Not a namespace name."""


class DtabExists(Exception):
    pass


class DtabNotFound(Exception):
    pass


class VersionMismatch(Exception):
    pass


def check_namespace(ns: str) -> str:
    if not NAMESPACE.fullmatch(ns):
        raise NamespaceError(f"invalid namespace {ns!r}: 1-128 letters, digits, '-' or '_'")
    return ns


def etag(version: int) -> str:
    return base64.b64encode(struct.pack(">Q", version)).decode()


def parse_etag(value: str) -> int | None:
    """The version an ``If-Match`` names, or ``None`` when it is not one of our ETags."""
    value = value.strip().strip('"')
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return struct.unpack(">Q", raw)[0] if len(raw) == 8 else None


class DtabStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    @staticmethod
    def _key(ns: str) -> str:
        return f"{ROOT}/{check_namespace(ns)}"

    async def namespaces(self) -> list[str]:
        return await self.store.list(ROOT)

    async def get(self, ns: str) -> tuple[Dtab, int] | None:
        found = await self.store.get(self._key(ns))
        if found is None:
            return None
        value, version = found
        return Dtab.read(value.decode()), version + 1

    async def create(self, ns: str, dtab: Dtab) -> int:
        try:
            return await self.store.put(self._key(ns), dtab.show.encode(), -1) + 1
        except NodeExistsError:
            raise DtabExists(ns) from None

    async def update(self, ns: str, dtab: Dtab, version: int) -> int:
        """Compare-and-set: only if the namespace is at ``version``."""
        try:
            return await self.store.put(self._key(ns), dtab.show.encode(), version - 1) + 1
        except NoNodeError:
            raise DtabNotFound(ns) from None
        except BadVersionError:
            raise VersionMismatch(ns) from None

    async def put(self, ns: str, dtab: Dtab) -> int:
        return await self.store.put(self._key(ns), dtab.show.encode()) + 1

    async def delete(self, ns: str) -> None:
        try:
            await self.store.delete(self._key(ns))
        except NoNodeError:
            raise DtabNotFound(ns) from None

    async def watch_namespaces(self) -> AsyncIterator[list[str]]:
        """The namespaces now, then again each time one is created or deleted."""
        watch = self.store.watch(ROOT)
        try:
            last = await self.namespaces()
            yield last
            async for _event in watch:
                now = await self.namespaces()
                if now != last:
                    last = now
                    yield now
        finally:
            await watch.aclose()

    async def watch(self, ns: str) -> AsyncIterator[tuple[Dtab, int] | None]:
        """The namespace now, then again each time it changes (``None`` while absent);
        repeats of the same dtab are skipped."""
        key = self._key(ns)
        watch = self.store.watch(key)
        try:
            current = await self.get(ns)
            yield current
            last = current[0] if current else None
            async for event in watch:
                if event.key != key:
                    continue
                if event.kind == "delete" or event.value is None:
                    now: tuple[Dtab, int] | None = None
                else:
                    now = (Dtab.read(event.value.decode()), event.version + 1)
                dtab = now[0] if now else None
                if dtab != last:
                    last = dtab
                    yield now
        finally:
            await watch.aclose()
