"""Kills go out in the background and are re-sent until the task is gone (Marathon's
``KillService``).

The orchestrator decides under its lock *which* tasks die and marks them ``killing``; the
KILL calls to the master travel here, outside the lock and several at once, so deleting a
1,000-instance app never stalls the API or status updates. A kill that failed (master away,
not subscribed yet) or whose task is still active after ``RETRY_SECONDS`` is sent again; after
re-subscribing every pending kill is due at once. An unknown task reported by the master gets
one kill here too (the master reports it again if it survives).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from roost.core.clock import Clock
from roost.core.logs import kv
from roost.marathon.instances import Instance

log = logging.getLogger(__name__)

RETRY_SECONDS = 10.0
PARALLEL_KILLS = 32


class Killer(Protocol):
    async def kill(self, task_id: str, agent_id: str) -> None: ...


class KillService:
    def __init__(self, clock: Clock, killer: Callable[[], Killer | None]) -> None:
        self.clock = clock
        self._killer = killer
        self._sent: dict[str, float] = {}
        self._in_flight: set[str] = set()
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._slots = asyncio.Semaphore(PARALLEL_KILLS)
        self._task: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self.sent_total = 0
        self.failed_total = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._sender(), name="marathon-kills")

    async def aclose(self) -> None:
        tasks = [t for t in (self._task, *self._calls) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._task = None

    def request(self, task_id: str, agent_id: str) -> None:
        if task_id in self._in_flight:
            return
        self._in_flight.add(task_id)
        self._outbox.put_nowait((task_id, agent_id))

    def retry_due(self, instances: Iterable[Instance]) -> None:
        """Re-send kills of instances still active ``RETRY_SECONDS`` after the last attempt.

        ``instances`` is every instance: records of tasks no longer killing are dropped."""
        now = self.clock.monotonic()
        pending: set[str] = set()
        for inst in instances:
            if inst.killing and inst.active:
                pending.add(inst.task_id)
                sent = self._sent.get(inst.task_id)
                if sent is None or now - sent >= RETRY_SECONDS:
                    self.request(inst.task_id, inst.agent_id)
        for task_id in self._sent.keys() - pending - self._in_flight:
            del self._sent[task_id]

    def forget(self, task_id: str) -> None:
        self._sent.pop(task_id, None)

    def reset(self) -> None:
        """A new subscription: kills sent on the old one may have been lost."""
        self._sent.clear()

    async def _sender(self) -> None:
        while True:
            task_id, agent_id = await self._outbox.get()
            await self._slots.acquire()
            call = asyncio.create_task(self._send(task_id, agent_id))
            self._calls.add(call)
            call.add_done_callback(self._calls.discard)

    async def _send(self, task_id: str, agent_id: str) -> None:
        try:
            killer = self._killer()
            if killer is None:
                raise RuntimeError("not connected to the master")
            await killer.kill(task_id, agent_id)
            self._sent[task_id] = self.clock.monotonic()
            self.sent_total += 1
        except Exception as e:  # retried by retry_due after RETRY_SECONDS or a re-subscribe
            self.failed_total += 1
            self._sent[task_id] = self.clock.monotonic()
            log.info("kill not sent yet", extra=kv(task_id=task_id, error=str(e)))
        finally:
            self._in_flight.discard(task_id)
            self._slots.release()
