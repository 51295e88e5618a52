"""Live bindings and their cache: what the router asks on every request.

A :class:`Binding` keeps one ``(dtab, path)`` bound. Its state is ``pending`` until the first
bind finishes, then ``ok`` (with a tree) or ``failed`` (with the error). Observers are told
of every change of state or tree. Addresses change under the bound names by themselves (the
namers push them through their ``Var``\\ s); the *tree* — which names a path reaches — is
bound again when it is older than ``refresh`` seconds and asked for (the caller keeps the
current tree meanwhile), or after :meth:`BindingCache.invalidate` (a new dtab). A rebind
that fails keeps the last good tree: a broken discovery source never takes routes away.

:class:`BindingCache` holds up to ``capacity`` bindings (Linkerd's 1,000) and forgets those
not asked for in ``idle_ttl`` seconds (10 minutes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.naming.binding import DEFAULT_MAX_DEPTH, Interpreter, Mounts
from roost.naming.cache import IdleCache
from roost.naming.dtab import Dtab
from roost.naming.name import BoundName
from roost.naming.path import Path
from roost.naming.tree import NameTree

log = logging.getLogger(__name__)

PENDING, OK, FAILED = "pending", "ok", "failed"


class Binding:
    def __init__(
        self, interpreter: Interpreter, path: Path, *, refresh: float, clock: Clock
    ) -> None:
        self.interpreter = interpreter
        self.path = path
        self.refresh = refresh
        self.clock = clock
        self.state = PENDING
        self.tree: NameTree[BoundName] | None = None
        self.error: Exception | None = None
        self.bound_at = float("-inf")
        self.binds = 0
        self._task: asyncio.Task[None] | None = None
        self._observers: list[Callable[[Binding], None]] = []

    def stale(self) -> bool:
        return self.clock.monotonic() - self.bound_at >= self.refresh

    def rebind(self) -> asyncio.Task[None]:
        """Start a bind unless one is running; the task ends when it is done."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._bind())
        return self._task

    async def _bind(self) -> None:
        self.binds += 1
        try:
            tree = await self.interpreter.bind(self.path)
        except Exception as exc:
            self.bound_at = self.clock.monotonic()
            if self.state == OK:
                log.warning("rebinding %s failed: %s (keeping the last tree)", self.path.show, exc)
                return
            self._set(FAILED, None, exc)
            return
        self.bound_at = self.clock.monotonic()
        if self.state != OK or tree != self.tree:
            self._set(OK, tree, None)

    def _set(self, state: str, tree: NameTree[BoundName] | None, error: Exception | None) -> None:
        self.state, self.tree, self.error = state, tree, error
        for observer in list(self._observers):
            observer(self)

    async def ready(self) -> NameTree[BoundName]:
        """The current tree: waits for the first bind (and for a new one after a failure
        that is stale); refreshes a stale ok tree in the background."""
        if self.state == PENDING or (self.state == FAILED and self.stale()):
            await asyncio.shield(self.rebind())
        elif self.stale():
            self.rebind()
        if self.state == FAILED:
            assert self.error is not None
            raise self.error
        assert self.tree is not None
        return self.tree

    def observe(self, callback: Callable[[Binding], None]) -> Callable[[], None]:
        """Call ``callback(self)`` now and on every change; call the result to stop."""
        self._observers.append(callback)
        callback(self)

        def stop() -> None:
            if callback in self._observers:
                self._observers.remove(callback)

        return stop

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


class BindingCache:
    def __init__(
        self,
        namers: Mounts = (),
        *,
        max_depth: int = DEFAULT_MAX_DEPTH,
        capacity: int = 1000,
        idle_ttl: float | None = 600.0,
        refresh: float = 1.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if not refresh > 0:
            raise ValueError(f"refresh must be > 0, got {refresh!r}")
        self.namers = tuple(namers)
        self.max_depth = max_depth
        self.refresh = refresh
        self.clock = clock
        self._bindings: IdleCache[tuple[Dtab, Path], Binding] = IdleCache(
            capacity, idle_ttl, clock=clock, on_evict=lambda _k, b: b.cancel()
        )

    def binding(self, dtab: Dtab, path: Path) -> Binding:
        key = (dtab, path)
        found = self._bindings.get(key)
        if found is None:
            interpreter = Interpreter(dtab, self.namers, max_depth=self.max_depth)
            found = Binding(interpreter, path, refresh=self.refresh, clock=self.clock)
            self._bindings.put(key, found)
        return found

    async def bind(self, dtab: Dtab, path: Path) -> NameTree[BoundName]:
        return await self.binding(dtab, path).ready()

    def invalidate(self) -> None:
        """Every binding is stale: the next ask binds again (a namer or dtab changed)."""
        for binding in self._bindings.values():
            binding.bound_at = float("-inf")

    def __len__(self) -> int:
        return len(self._bindings)

    async def aclose(self) -> None:
        tasks = []
        for binding in self._bindings.values():
            if binding._task is not None:
                binding.cancel()
                tasks.append(binding._task)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._bindings.clear()
