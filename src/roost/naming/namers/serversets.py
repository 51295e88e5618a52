"""``io.l5d.serversets``: ZooKeeper serversets (Linkerd's ``ServersetNamer`` over Finagle's
``zk2`` resolver), read and watched through kazoo::

    /#/io.l5d.serversets/discovery/prod/web/rest   the members of znode /discovery/prod/web,
                                                   residual /rest
    /#/io.l5d.serversets/discovery/prod/web:http   their "http" additional endpoint

A serverset is a znode whose ``member_…`` children hold Finagle's member JSON
(:mod:`roost.naming.namers.serverset_member`). The path is tried longest prefix first (the
last label of each may carry ``:endpoint``); the first that is a serverset with an ``ALIVE``
member for that endpoint is bound, id ``/#/io.l5d.serversets/<prefix>``, the rest of the path
its residual. No such prefix is ``~``: a missing or empty serverset names nothing (Finagle's
zk2 makes it ``Addr.Neg``), so the next dtab alternative is tried.

A bound serverset is watched (its children and each member's data): members joining, leaving
or changing are pushed to its ``Var[Addr]`` as ZooKeeper reports them. All members gone is an
empty set; the znode deleted is ``Addr.Neg``. When ZooKeeper cannot be reached (session
suspended or lost) or a read fails, the last known good addresses stay and one warning is
logged; on reconnecting every watched serverset is read again. Meanwhile a name looked up
before is answered from what was known; a new one fails. A malformed member is skipped with a
warning naming its znode (one that parsed before keeps its last good endpoints).

The first lookup connects, waiting up to ``connect_timeout`` seconds (else
:class:`ServersetsError`); kazoo then reconnects by itself, backing off up to
``retry_max_delay`` seconds between attempts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import BadArgumentsError, KazooException, NoNodeError
from kazoo.retry import KazooRetry

from roost.core.aio import cancel_quietly
from roost.core.logs import kv
from roost.naming.errors import NamingError
from roost.naming.name import BoundName
from roost.naming.namer import Name
from roost.naming.namers.serverset_member import (
    MEMBER_PREFIX,
    Serverset,
    addresses,
    read_members,
    znode_of,
)
from roost.naming.path import Path
from roost.naming.tree import NEG, Leaf, NameTree

log = logging.getLogger(__name__)
ZkTrouble = (KazooException, TimeoutError)
ABSENT_MEMORY = 10_000
"""How many probed prefixes that served nothing are remembered, to answer during outages."""


class ServersetsError(NamingError):
    """ZooKeeper could not be asked: not reachable in time, or a read failed."""


class _QuietKazoo(logging.LoggerAdapter):
    """kazoo warns on every reconnect attempt; the namer logs an outage once itself."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        super().log(logging.DEBUG if level <= logging.WARNING else level, msg, *args, **kwargs)


class ServersetsNamer:
    """Serves the serversets of a ZooKeeper ensemble (``hosts``: ``host:port`` strings or one
    connect string); mount it at ``/#/io.l5d.serversets``."""

    def __init__(
        self,
        hosts: str | Sequence[str],
        *,
        prefix: str = "io.l5d.serversets",
        session_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        retry_max_delay: float = 1.0,
    ) -> None:
        self.hosts = hosts if isinstance(hosts, str) else ",".join(hosts)
        if not self.hosts:
            raise ValueError("io.l5d.serversets needs at least one ZooKeeper address")
        if not (session_timeout > 0 and connect_timeout > 0 and retry_max_delay > 0):
            raise ValueError("session_timeout, connect_timeout and retry_max_delay must be > 0")
        self.prefix = Path.of("#", *prefix.split("/"))
        self.session_timeout = session_timeout
        self.connect_timeout = connect_timeout
        self.retry_max_delay = retry_max_delay
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = asyncio.Event()
        self._sets: dict[str, Serverset] = {}
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._warned_down = False
        self._warned_members: set[str] = set()
        self._absent: dict[tuple[str, str | None], None] = {}  # probed, not serving
        self.refreshes = 0
        self.failures = 0

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # -- Namer --------------------------------------------------------------------------

    async def lookup(self, path: Path) -> NameTree[Name]:
        labels = path.labels
        for n in range(len(labels), 0, -1):
            target = znode_of(labels[:n])
            if target is None:
                continue
            znode, endpoint = target
            try:
                serverset = await self._serverset_serving(znode, endpoint)
            except ZkTrouble as exc:
                raise ServersetsError(
                    f"io.l5d.serversets: reading {znode} from ZooKeeper at {self.hosts}: "
                    f"{type(exc).__name__} {exc}".rstrip()
                ) from exc
            if serverset is not None:
                var = serverset.var(endpoint)
                return Leaf(BoundName(self.prefix + path.take(n), var, path.drop(n)))
        return NEG

    async def _serverset_serving(self, znode: str, endpoint: str | None) -> Serverset | None:
        """The watched serverset ``znode`` if it has an ALIVE member for ``endpoint``. While
        ZooKeeper is unreachable, what was last known answers."""
        serverset = self._sets.get(znode)
        if serverset is not None and (serverset.exists or not self.connected):
            return serverset if serverset.serves(endpoint) else None
        if not self.connected and (znode, endpoint) in self._absent:
            return None
        client = await self._ready()
        found = await self._read(client, znode, None)  # a probe, unwatched
        members = read_members(znode, found or {}, {}, self._warned_members)
        if found is None or not addresses(members.values(), endpoint):
            self._absent[znode, endpoint] = None
            if len(self._absent) > ABSENT_MEMORY:
                del self._absent[next(iter(self._absent))]  # the oldest
            return None
        self._absent.pop((znode, endpoint), None)
        serverset = self._sets.setdefault(znode, Serverset(znode))
        await self._refresh(serverset)
        self._ensure_watching()
        return serverset if serverset.serves(endpoint) else None

    # -- asking ZooKeeper ---------------------------------------------------------------

    async def _ready(self) -> Any:
        """The kazoo client, connected (started on first use)."""
        if self._client is None:
            self._loop = asyncio.get_running_loop()
            retry = KazooRetry(max_tries=-1, delay=0.1, backoff=2, max_delay=self.retry_max_delay)
            client = KazooClient(
                hosts=self.hosts,
                timeout=self.session_timeout,
                connection_retry=retry,
                logger=_QuietKazoo(logging.getLogger(f"{__name__}.kazoo")),
            )
            client.add_listener(self._on_state)
            self._client = client
            await asyncio.to_thread(client.start_async)
        if not self._connected.is_set():
            try:
                async with asyncio.timeout(self.connect_timeout):
                    await self._connected.wait()
            except TimeoutError:
                raise ServersetsError(
                    f"io.l5d.serversets: no ZooKeeper reachable at {self.hosts} "
                    f"within {self.connect_timeout:g} s"
                ) from None
        return self._client

    async def _read(
        self, client: Any, znode: str, watch: Callable[[Any], None] | None
    ) -> dict[str, bytes] | None:
        """The data of ``znode``'s members; ``None`` if there is no such znode."""
        try:
            children = await self._call(client.get_children_async(znode, watch=watch))
        except (NoNodeError, BadArgumentsError):  # no such znode (or no such znode name)
            return None
        names = sorted(c for c in children if c.startswith(MEMBER_PREFIX))
        results = await asyncio.gather(
            *(self._call(client.get_async(f"{znode}/{n}", watch=watch)) for n in names),
            return_exceptions=True,
        )
        out = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, NoNodeError):
                continue  # left meanwhile; the children watch says so too
            if isinstance(result, BaseException):
                raise result
            out[name] = result[0]
        return out

    async def _call(self, pending: Any) -> Any:
        """Await a kazoo async result (settled on kazoo's thread) on this loop."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def settle(done: Any) -> None:
            if future.done():
                return
            if done.successful():
                future.set_result(done.value)
            else:
                future.set_exception(done.exception)

        pending.rawlink(lambda done: self._hop(settle, done))
        async with asyncio.timeout(self.session_timeout):
            return await future

    def _hop(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn(*args)`` on the event loop (called from kazoo's threads)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop closed meanwhile
            pass

    # -- watching -----------------------------------------------------------------------

    async def _refresh(self, serverset: Serverset) -> None:
        async with serverset.lock:
            found = await self._read(self._client, serverset.znode, self._on_watch)
            self.refreshes += 1
            serverset.update(found, self._warned_members)

    def _ensure_watching(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        """Read again every serverset a watch (or a reconnection) marked."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._connected.is_set():
                continue  # reconnecting marks everything and wakes us
            dirty, self._dirty = self._dirty, set()
            for znode in sorted(dirty):
                try:
                    await self._refresh(self._sets[znode])
                except ZkTrouble as exc:
                    self.failures += 1
                    self._dirty.add(znode)
                    self._outage(f"reading {znode}: {type(exc).__name__} {exc}".rstrip())
                except Exception:  # the watcher must outlive a surprise
                    log.exception("io.l5d.serversets: refreshing %s failed", znode)
            if self._dirty:  # some reads failed: try again in a while
                asyncio.get_running_loop().call_later(self.retry_max_delay, self._wake.set)
            elif self._connected.is_set():
                self._recovered()

    def _on_watch(self, event: Any) -> None:  # kazoo's thread
        self._hop(self._mark, event.path)

    def _mark(self, znode: str | None) -> None:
        if znode is None:  # the session's watches were reset
            self._dirty.update(self._sets)
        else:
            parent = znode.rsplit("/", 1)[0]
            self._dirty.update(p for p in (znode, parent) if p in self._sets)
        self._wake.set()

    def _on_state(self, state: str) -> None:  # kazoo's thread
        self._hop(self._state_changed, state)

    def _state_changed(self, state: str) -> None:
        if self._closing:
            return
        if state == KazooState.CONNECTED:
            self._connected.set()
            if not self._sets:
                self._recovered()  # else once the serversets have been read again
            self._dirty.update(self._sets)
            self._wake.set()
        else:
            self._connected.clear()
            self._outage(f"session {state.lower()}")

    def _outage(self, reason: str) -> None:
        if not self._warned_down:
            self._warned_down = True
            log.warning(
                "io.l5d.serversets: ZooKeeper unreachable, keeping the last addresses",
                extra=kv(hosts=self.hosts, reason=reason),
            )

    def _recovered(self) -> None:
        if self._warned_down:
            self._warned_down = False
            log.info("io.l5d.serversets: ZooKeeper reachable again", extra=kv(hosts=self.hosts))

    async def aclose(self) -> None:
        self._closing = True
        task, self._task = self._task, None
        await cancel_quietly(task)
        client, self._client = self._client, None
        if client is not None:
            client.remove_listener(self._on_state)
            await asyncio.to_thread(_stop, client)


def _stop(client: Any) -> None:
    client.stop()
    client.close()
