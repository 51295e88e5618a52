"""The health of every running task: probe loops for Marathon-level checks, status updates
for Mesos-level ones, and two callbacks for the orchestrator.

Mirrors ``MarathonHealthCheckManager`` and ``HealthCheckActor`` (``core/health/impl/``):
Marathon-level checks (HTTP, HTTPS, TCP) are probed every ``intervalSeconds``, each probe
bounded by ``timeoutSeconds``; Mesos-level checks (COMMAND, MESOS_*) arrive as
``TaskStatus.healthy``. Sockets and timers live here; the rules live in
:class:`~roost.marathon.health.result.HealthResult`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from roost.marathon.health.checks import effective_port, is_marathon_level, is_mesos_level
from roost.marathon.health.probes import probe
from roost.marathon.health.result import HealthResult
from roost.marathon.timestamps import format_ts

if TYPE_CHECKING:
    from roost.core.clock import Clock
    from roost.marathon.appdef import AppDefinition, HealthCheckDef

log = logging.getLogger(__name__)

_REMEMBER_GONE = 4096
MESOS_FAILURE = "Mesos health check failed"
"""The failure cause of an unhealthy ``TaskStatus`` that carries no message."""


@dataclass
class _TrackedTask:
    instance_id: str
    results: list[HealthResult]
    loops: list[asyncio.Task[None]] = field(default_factory=list)
    healthy: bool | None = None
    """``None`` until the first success or the first failure counted after the grace period."""
    kill_requested: bool = False


class HealthMonitor:
    """Tracks the health of running tasks and tells the orchestrator when it changes.

    * ``on_change(task_id, alive)`` fires when a task's overall health changes: all its
      checks alive (the first success) → ``True``; the first failure counted after the grace
      period (of a task never healthy) or a failure of a healthy task → ``False``.
    * ``on_kill(task_id, reason)`` fires once per task when a check's consecutive failures
      say kill; the orchestrator kills the task, publishes ``unhealthy_task_kill_event`` and
      replaces it.

    Callbacks run one at a time, in order, on a dispatcher task of their own, so a callback
    may call :meth:`untrack` or :meth:`track` freely. ``prober`` and ``sleep`` are injectable
    so tests drive time; ``prober`` is called as ``prober(check, host, port, timeout=s)``.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        on_change: Callable[[str, bool], Awaitable[None]],
        on_kill: Callable[[str, str], Awaitable[None]],
        prober: Callable[..., Awaitable[str | None]] = probe,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        fmt_ts: Callable[[float], str] = format_ts,
    ) -> None:
        self._clock = clock
        self._on_change = on_change
        self._on_kill = on_kill
        self._prober = prober
        self._sleep = sleep
        self._fmt_ts = fmt_ts
        self._tasks: dict[str, _TrackedTask] = {}
        # Recently untracked ids: a late status update must not bring a task back.
        self._gone: OrderedDict[str, None] = OrderedDict()
        self._stopping: set[asyncio.Task[None]] = set()
        self._events: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._dispatcher: asyncio.Task[None] | None = None
        self._closed = False

    # -- tracking --------------------------------------------------------------------------

    def track(
        self,
        task_id: str,
        instance_id: str,
        app: AppDefinition,
        host: str,
        host_ports: Sequence[int],
    ) -> None:
        """Start checking a task that just became RUNNING (idempotent).

        Results exist at once for every check of ``app``; each Marathon-level check gets a
        loop whose first probe runs immediately and then every ``intervalSeconds``.
        """
        if self._closed:
            raise RuntimeError("the health monitor is closed")
        self._gone.pop(task_id, None)
        tracked = self._tasks.get(task_id)
        if tracked is None:
            tracked = self._add(task_id, instance_id, app)
        elif tracked.loops:
            return
        else:  # first seen in a status update, which only guessed the instance id
            for result in tracked.results:
                result.instance_id = instance_id
        loop = asyncio.get_running_loop()
        for result in tracked.results:
            if is_marathon_level(result.check):
                port = effective_port(result.check, host_ports)
                coro = self._probe_loop(task_id, tracked, result, host, port)
                tracked.loops.append(loop.create_task(coro, name=f"health {task_id}"))

    def untrack(self, task_id: str) -> None:
        """Stop checking a task and forget its results (it is terminal or gone)."""
        tracked = self._tasks.pop(task_id, None)
        self._gone[task_id] = None
        while len(self._gone) > _REMEMBER_GONE:
            self._gone.popitem(last=False)
        if tracked is None:
            return
        for loop in tracked.loops:
            loop.cancel()
            self._stopping.add(loop)
            loop.add_done_callback(self._stopping.discard)

    def mesos_update(
        self, task_id: str, app: AppDefinition, healthy: bool | None, *, message: str = ""
    ) -> None:
        """Feed ``TaskStatus.healthy`` into the task's Mesos-level results.

        ``None`` (the update carries no health) changes nothing. A task not tracked yet
        gets its results from ``app``; an untracked (gone) task is ignored.
        """
        if healthy is None or task_id in self._gone or self._closed:
            return
        tracked = self._tasks.get(task_id) or self._add(task_id, _instance_id(task_id), app)
        for result in tracked.results:
            if is_mesos_level(result.check):
                cause = None if healthy else message or MESOS_FAILURE
                self._record(task_id, tracked, result, cause)

    # -- reading ---------------------------------------------------------------------------

    def results(self, task_id: str) -> list[dict[str, Any]]:
        """``healthCheckResults``: one entry per check of the task's app, in app order."""
        tracked = self._tasks.get(task_id)
        return [] if tracked is None else [r.to_json(self._fmt_ts) for r in tracked.results]

    def healthy(self, task_id: str) -> bool | None:
        """``None`` without checks (or for an unknown task); ``True`` when every check is alive."""
        tracked = self._tasks.get(task_id)
        if tracked is None or not tracked.results:
            return None
        return all(r.alive for r in tracked.results)

    async def aclose(self) -> None:
        """Stop every probe, deliver the callbacks already queued, then stop the dispatcher."""
        self._closed = True
        for task_id in list(self._tasks):
            self.untrack(task_id)
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
        if self._dispatcher is not None:
            if not self._dispatcher.done():
                await self._events.join()
            self._dispatcher.cancel()
            await asyncio.gather(self._dispatcher, return_exceptions=True)

    # -- internals -------------------------------------------------------------------------

    def _add(self, task_id: str, instance_id: str, app: AppDefinition) -> _TrackedTask:
        now = self._clock.monotonic()
        results = [
            HealthResult(check, task_id=task_id, instance_id=instance_id, started_at=now)
            for check in app.health_checks
        ]
        tracked = self._tasks[task_id] = _TrackedTask(instance_id, results)
        return tracked

    async def _probe_loop(
        self, task_id: str, tracked: _TrackedTask, result: HealthResult, host: str, port: int | None
    ) -> None:
        interval = float(result.check.interval_seconds)
        while True:
            began = self._clock.monotonic()
            cause = await self._probe_once(result.check, host, port)
            self._record(task_id, tracked, result, cause)
            await self._sleep(max(0.0, interval - (self._clock.monotonic() - began)))

    async def _probe_once(self, check: HealthCheckDef, host: str, port: int | None) -> str | None:
        timeout = float(check.timeout_seconds)
        try:
            # The prober bounds itself too; this guards injected probers that do not.
            async with asyncio.timeout(timeout):
                return await self._prober(check, host, port, timeout=timeout)
        except TimeoutError:
            return f"Timeout after {timeout:g}s"
        except Exception as exc:  # a broken prober must not end the loop
            log.exception("health probe of %s:%s failed", host, port)
            return f"{type(exc).__name__}: {exc}"

    def _record(
        self, task_id: str, tracked: _TrackedTask, result: HealthResult, cause: str | None
    ) -> None:
        now, wall = self._clock.monotonic(), self._clock.time()
        kill = False
        if cause is None:
            result.record_success(now=now, wall=wall)
        elif result.in_grace_period(now):
            return  # not counted: the task stays of unknown health
        else:
            kill = result.record_failure(now=now, wall=wall, cause=cause)
        healthy = _overall(tracked.results)
        if healthy is not None and healthy != tracked.healthy:
            tracked.healthy = healthy
            self._emit(functools.partial(self._on_change, task_id, healthy))
        if kill and not tracked.kill_requested and cause is not None:
            tracked.kill_requested = True
            self._emit(functools.partial(self._on_kill, task_id, cause))

    def _emit(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._events.put_nowait(callback)
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.get_running_loop().create_task(
                self._dispatch(), name="health callbacks"
            )

    async def _dispatch(self) -> None:
        while True:
            callback = await self._events.get()
            try:
                await callback()
            except Exception:
                log.exception("health monitor callback failed")
            finally:
                self._events.task_done()


def _overall(results: list[HealthResult]) -> bool | None:
    """Every check alive → ``True``; one with a counted failure → ``False``; else unknown (a
    check has not answered yet, or only failed inside its grace period)."""
    if all(r.alive for r in results):
        return True
    if any(not r.alive and r.last_failure is not None for r in results):
        return False
    return None


def _instance_id(task_id: str) -> str:
    """The instance id within a task id (``<app>.instance-<uuid>._app.<n>`` → its prefix).

    Legacy ids (``<app>.<uuid>``) name their instance themselves.
    """
    head, sep, _ = task_id.partition("._app")
    return head if sep else task_id
