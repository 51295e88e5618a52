"""``io.l5d.fs``: a directory of files, one per service, each listing its endpoints (Linkerd
``namer.md``)::

    # /etc/roost/disco/web
    192.0.2.10 8080
    192.0.2.11 8080 * 2.0

``/#/io.l5d.fs/web/rest`` names the endpoints in ``<root>/web`` (id ``/#/io.l5d.fs/web``,
residual ``/rest``); a name with no file is ``~``. Lines are ``host port [* weight]``; blank
lines and ``#`` comments are skipped.

The directory is watched (polled every ``interval`` seconds; the addresses are pushed to
whoever observes them). A file that cannot be read or parsed, or that turns empty while it
listed endpoints, keeps its last known good addresses (a file being rewritten in place is
briefly empty), and the problem is logged; deleting the file takes the name away. Write files
atomically (write, then rename) to change them in one step.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path as FilePath

from roost.core.aio import cancel_quietly, every
from roost.naming.addr import NEG as ADDR_NEG
from roost.naming.addr import Addr, Address, Bound
from roost.naming.name import BoundName
from roost.naming.namer import Name
from roost.naming.path import Path
from roost.naming.tree import NEG, Leaf, NameTree
from roost.naming.var import Var

log = logging.getLogger(__name__)


def parse_endpoints(text: str, source: str = "<file>") -> list[Address]:
    """``host port [* weight]`` lines; ``ValueError`` naming the line for anything else."""
    out: list[Address] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) not in (2, 4) or (len(parts) == 4 and parts[2] != "*"):
            raise ValueError(f"{source}:{n}: expected 'host port [* weight]', got {raw.strip()!r}")
        host, port_text = parts[0], parts[1]
        if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
            raise ValueError(f"{source}:{n}: port must be 1-65535, got {port_text!r}")
        meta: dict[str, float] = {}
        if len(parts) == 4:
            try:
                weight = float(parts[3])
            except ValueError:
                raise ValueError(
                    f"{source}:{n}: weight must be a number, got {parts[3]!r}"
                ) from None
            if not weight >= 0 or weight == float("inf"):
                raise ValueError(f"{source}:{n}: weight must be finite and >= 0, got {parts[3]!r}")
            meta["weight"] = weight
        out.append(Address(host, int(port_text), meta))
    return out


class FsNamer:
    """Serves the files of ``root``; mount it at ``/#/io.l5d.fs``."""

    def __init__(self, root: str | FilePath, *, prefix: str = "io.l5d.fs", interval: float = 1.0):
        if not interval > 0:
            raise ValueError(f"interval must be > 0, got {interval!r}")
        self.root = FilePath(root)
        self.prefix = Path.of("#", *prefix.split("/"))
        self.interval = interval
        self._vars: dict[str, Var[Addr]] = {}
        self._task: asyncio.Task[None] | None = None

    async def lookup(self, path: Path) -> NameTree[Name]:
        if not path.elems:
            return NEG
        name = path.labels[0]
        var = self._vars.get(name)
        if var is None:
            var = Var(self._read(name, ADDR_NEG))
            if var.value is ADDR_NEG:
                return NEG
            self._vars[name] = var
            self._ensure_watching()
        elif var.value is ADDR_NEG:
            return NEG
        return Leaf(BoundName(self.prefix + path.take(1), var, path.drop(1)))

    def names(self) -> list[Path]:
        """Every name this namer can bind now: the ids of the files in ``root`` (hidden ones,
        such as a half-written ``.web.tmp``, left out) — Linkerd's ``getAllNames``."""
        try:
            files = sorted(f.name for f in self.root.iterdir() if f.is_file())
        except OSError:
            return []
        return [self.prefix + Path.of(n) for n in files if not n.startswith(".")]

    def _read(self, name: str, last: Addr) -> Addr:
        if "/" in name or name in (".", "..") or not name:
            return ADDR_NEG
        file = self.root / name
        try:
            text = file.read_text()
        except FileNotFoundError:
            return ADDR_NEG
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("io.l5d.fs: cannot read %s: %s (keeping the last addresses)", file, exc)
            return last
        try:
            addresses = parse_endpoints(text, str(file))
        except ValueError as exc:
            log.warning("io.l5d.fs: %s (keeping the last addresses)", exc)
            return last
        if not addresses and isinstance(last, Bound) and last.addresses:
            return last  # a file rewritten in place is briefly empty: last known good wins
        return Bound(addresses)

    def refresh(self) -> None:
        """Re-read every file looked up so far (what the watcher does each interval)."""
        for name, var in self._vars.items():
            var.set(self._read(name, var.value))

    def _ensure_watching(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        await every(self.interval, self.refresh, f"io.l5d.fs: refreshing {self.root}", log)

    async def aclose(self) -> None:
        task, self._task = self._task, None
        await cancel_quietly(task)
