"""The scheduler driver: one framework's connection to the master (Mesos v1 scheduler API).

Three tasks run while the driver is started:

* the **stream** task subscribes (following leader redirects), reads RecordIO events, feeds the
  heartbeat watchdog and re-subscribes with the framework id after any disconnect, with capped
  exponential backoff. It stops for good only on :meth:`SchedulerDriver.stop`, when the master
  says the framework was removed or failed over to another scheduler, or when it refuses
  SUBSCRIBE with a 4xx;
* the **dispatch** task runs :class:`Scheduler` callbacks one at a time, in event order, then
  sends implicit acknowledgements. Slow callbacks therefore never stall the stream reader
  (which would look like missed heartbeats);
* the **reconcile** task sends RECONCILE when :class:`Reconciler` says so.

Calls (``accept``, ``kill`` ...) come from :class:`SchedulerCalls` and travel over a second
keep-alive connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import getpass
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx

from roost.cluster.scheduler import calls, transport
from roost.cluster.scheduler.api import SchedulerCalls
from roost.cluster.scheduler.backoff import Backoff
from roost.cluster.scheduler.errors import NotSubscribed, SchedulerError
from roost.cluster.scheduler.events import deliver, error_message, is_final, payload
from roost.cluster.scheduler.reconciler import Reconciler
from roost.cluster.scheduler.scheduler import Scheduler
from roost.cluster.scheduler.watchdog import HeartbeatWatchdog
from roost.core.aio import wait_event
from roost.core.clock import SYSTEM_CLOCK, Clock
from roost.core.logs import kv

log = logging.getLogger(__name__)

CALL_TIMEOUT = 10.0
_Item = Callable[[], Awaitable[None]] | None


class SchedulerDriver(SchedulerCalls):
    """One framework's connection to the master.

    ``await driver.start()``, react in ``scheduler`` callbacks, ``await driver.stop()``. Give
    ``framework_info["failover_timeout"]`` (seconds) for the framework and its tasks to outlive
    a broken stream or a master restart: Mesos' default of 0 removes the framework as soon as
    its stream breaks. A missing ``framework_info["user"]`` becomes the current user.
    """

    def __init__(
        self,
        master: str,
        framework_info: Mapping[str, Any],
        scheduler: Scheduler,
        *,
        framework_id: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        reconnect_backoff: tuple[float, float] = (1.0, 15.0),
        implicit_acknowledgements: bool = True,
        reconcile_interval: float = 900.0,
        heartbeat_timeout_factor: float = 5.0,
        reconcile_backoff: tuple[float, float] = (3.0, 60.0),
    ) -> None:
        self.master = transport.master_url(master)
        self.framework_info = dict(framework_info)
        if not self.framework_info.get("user"):
            self.framework_info["user"] = _current_user()  # as the C++ driver does
        self.scheduler = scheduler
        self.implicit_acknowledgements = implicit_acknowledgements
        self.last_error: str | None = None
        self._fid = framework_id
        self._clock = clock
        self._hb_factor = heartbeat_timeout_factor
        self._backoff = Backoff(*reconnect_backoff)
        self._reconciler = Reconciler(
            clock,
            reconcile_interval,
            initial_backoff=reconcile_backoff[0],
            max_backoff=reconcile_backoff[1],
        )
        self._stream_id: str | None = None
        self._subscribed = asyncio.Event()
        self._done = asyncio.Event()
        self._wake = asyncio.Event()
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._acks: set[asyncio.Future[None]] = set()
        self._ack_slots = asyncio.Semaphore(16)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = self._closed = self._finished = False
        self._stream_http = transport.new_client(httpx.Timeout(CALL_TIMEOUT, read=None))
        self._calls_http = transport.new_client(httpx.Timeout(CALL_TIMEOUT))

    @property
    def framework_id(self) -> str | None:
        return self._fid

    @property
    def stream_id(self) -> str | None:
        return self._stream_id

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    @property
    def reconciling(self) -> set[str]:
        """Task ids whose explicit reconciliation has not been answered yet."""
        return set(self._reconciler.pending)

    async def start(self) -> None:
        """Start subscribing in the background; returns at once (see :meth:`wait_subscribed`)."""
        if self._tasks or self._closed:
            raise SchedulerError("a SchedulerDriver can be started once")
        self._tasks = [
            asyncio.create_task(self._stream_loop(), name="scheduler-stream"),
            asyncio.create_task(self._dispatch_loop(), name="scheduler-dispatch"),
            asyncio.create_task(self._reconcile_loop(), name="scheduler-reconcile"),
        ]

    async def wait_subscribed(self) -> str:
        """Wait for SUBSCRIBED and return the framework id; raises if the driver ends first.

        Bound it with ``asyncio.timeout``; :attr:`last_error` then says what went wrong."""
        waits = [asyncio.ensure_future(e.wait()) for e in (self._subscribed, self._done)]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        if self._subscribed.is_set() and self._fid is not None:
            return self._fid
        raise SchedulerError(f"the driver stopped before subscribing: {self.last_error}")

    async def stop(self, failover: bool = False) -> None:
        """TEARDOWN the framework (unless ``failover``: keep its tasks for a new scheduler)."""
        if self._closed:
            return
        self._stopping = True
        if not failover and self.subscribed:
            try:
                await asyncio.wait_for(self.teardown(), CALL_TIMEOUT)
            except (SchedulerError, TimeoutError) as e:
                log.warning("TEARDOWN failed", extra=kv(error=str(e)))
        elif not failover:
            log.warning("not subscribed: cannot TEARDOWN", extra=kv(framework_id=self._fid))
        await self._close()

    async def join(self) -> None:
        """Wait until the driver stopped (``stop()``, framework removed, SUBSCRIBE refused)."""
        await self._done.wait()

    def reconcile_tasks(self, tasks: Iterable[str | tuple[str, str | None]]) -> None:
        """Explicitly reconcile ``tasks`` (ids or ``(task_id, agent_id)``), re-asking with
        truncated exponential backoff until an UPDATE for each has arrived."""
        refs = [(t, None) if isinstance(t, str) else t for t in tasks]
        self._reconciler.track(refs)
        self._wake.set()

    async def _send(self, body: calls.Json) -> None:
        if self._closed:
            raise NotSubscribed("the driver is stopped")
        stream_id = self._stream_id
        if stream_id is None or not self.subscribed:
            raise NotSubscribed()
        await transport.post_call(self._calls_http, self.master, body, stream_id)

    # -- the stream task ---------------------------------------------------------------------
    async def _stream_loop(self) -> None:
        while not (self._stopping or self._finished):
            try:
                await self._session()
                if not self._finished:
                    self.last_error = "the master closed the event stream"
            except transport.SubscribeRefused as e:
                self.last_error = e.message
                if not e.retryable:  # a 4xx will not get better by retrying
                    self._finished = True
                    self._enqueue(functools.partial(self.scheduler.error, self, e.message))
            except TimeoutError:
                self.last_error = "no event from the master in time (missed heartbeats)"
            except SchedulerError as e:
                self.last_error = e.message
            except Exception as e:  # a bug must not silently end the framework's connection
                log.exception("scheduler stream failed")
                self.last_error = transport.describe(e)
            self._lost_stream()
            if self._stopping or self._finished:
                break
            delay = self._backoff.next()
            log.warning("re-subscribing", extra=kv(error=self.last_error, delay=round(delay, 2)))
            await asyncio.sleep(delay)
        if not self._stopping:  # else stop() closes, once its TEARDOWN was answered
            self._queue.put_nowait(None)  # the dispatcher closes after pending callbacks

    async def _session(self) -> None:
        body = calls.subscribe(self.framework_info, self._fid)
        watchdog = HeartbeatWatchdog(self._clock, self._hb_factor)
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(watchdog.remaining()) as deadline:
            async with transport.subscribe(self._stream_http, self.master, body) as sub:
                self.master = sub.master
                async with contextlib.aclosing(sub.events()) as events:
                    async for event in events:
                        watchdog.beat()
                        if not self._on_event(event, sub.stream_id, watchdog):
                            return
                        deadline.reschedule(loop.time() + watchdog.remaining())

    def _on_event(self, event: dict[str, Any], stream_id: str, watchdog: HeartbeatWatchdog) -> bool:
        """Driver bookkeeping for one event, then queue its callback; False ends the stream."""
        kind, body = event.get("type"), payload(event)
        body = body if isinstance(body, dict) else {}
        if kind == "SUBSCRIBED":
            self._fid = calls.id_value(body.get("framework_id")) or self._fid
            self._stream_id = stream_id
            watchdog.set_interval(body.get("heartbeat_interval_seconds"))
            self._backoff.reset()
            self.last_error = None
            self._reconciler.subscribed()
            self._wake.set()
            self._subscribed.set()
            log.info("subscribed", extra=kv(framework_id=self._fid, master=self.master))
        elif kind == "UPDATE":
            task_id = calls.id_value((body.get("status") or {}).get("task_id"))
            if task_id is not None:
                self._reconciler.answered(task_id)
        self._enqueue(lambda: self._deliver(event))
        if kind == "ERROR" and is_final(error_message(event)):
            self.last_error = error_message(event)
            self._finished = True
            return False
        return True

    def _lost_stream(self) -> None:
        was_subscribed = self.subscribed
        self._subscribed.clear()
        self._stream_id = None
        if was_subscribed and not (self._stopping or self._finished):
            self._enqueue(lambda: self.scheduler.disconnected(self))

    # -- the dispatch task -------------------------------------------------------------------
    def _enqueue(self, item: Callable[[], Awaitable[None]]) -> None:
        self._queue.put_nowait(item)

    async def _dispatch_loop(self) -> None:
        while not self._closed:
            item = await self._queue.get()
            if item is None:
                await self._close()
                return
            try:
                await item()
            except Exception:
                log.exception("scheduler callback failed")

    async def _deliver(self, event: dict[str, Any]) -> None:
        await deliver(self.scheduler, self, event)
        if event.get("type") != "UPDATE" or not self.implicit_acknowledgements or self._closed:
            return
        status = (payload(event) or {}).get("status") or {}
        agent_id, task_id = (
            calls.id_value(status.get("agent_id")),
            calls.id_value(status.get("task_id")),
        )
        uuid = status.get("uuid")
        if uuid and agent_id and task_id:  # master-generated updates have no uuid
            # Acknowledge in the background: the next event need not wait for this round
            # trip, so a burst of updates is acknowledged over several connections at once.
            ack = asyncio.ensure_future(self._acknowledge_later(agent_id, task_id, uuid))
            self._acks.add(ack)
            ack.add_done_callback(self._acks.discard)

    async def _acknowledge_later(self, agent_id: str, task_id: str, uuid: str) -> None:
        async with self._ack_slots:
            if self._closed:
                return
            try:
                await self.acknowledge(agent_id, task_id, uuid)
            except SchedulerError as e:
                log.warning("acknowledgement failed; the agent will resend", extra=kv(error=str(e)))

    # -- the reconcile task ------------------------------------------------------------------
    async def _reconcile_loop(self) -> None:
        while True:
            await self._subscribed.wait()
            self._wake.clear()
            due = self._reconciler.due()
            try:
                if due.implicit:
                    await self.reconcile([])
                if due.explicit:
                    await self.reconcile(due.explicit)
            except SchedulerError as e:
                log.warning("reconciliation failed", extra=kv(error=str(e)))
            deadline = self._reconciler.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - self._clock.monotonic())
            await wait_event(self._wake, timeout)

    async def _close(self) -> None:
        if self._closed:
            return
        self._closed = self._stopping = True
        me = asyncio.current_task()
        others = [t for t in self._tasks if t is not me]
        for t in others:
            t.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        await self._stream_http.aclose()
        await self._calls_http.aclose()
        self._subscribed.clear()
        self._stream_id = None
        self._done.set()


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "root"
