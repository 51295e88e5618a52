"""The requests of one server connection and the task that answers them: :class:`RequestQueue`.

Requests are answered in the order they arrived; pipelined ones wait in the queue. The
connection's task starts with its first request, serves the queue, then waits for the next
one — waking a task costs less than starting one, and a connection never asked anything has
no task. While that task waits, a request that arrives alone is served *eagerly*: right in
the parser's callback, as that task, in its own context (:mod:`roost.rpc.http.eager`), so
a service that answers without waiting costs no trip through the event loop at all. Each
request runs in a fresh ``contextvars.Context``: nothing one request sets reaches the next.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, cast

from roost.rpc.http import eager
from roost.rpc.http.codec import plain_response
from roost.rpc.http.server_dispatch import Exchange, Refusal, respond

if TYPE_CHECKING:
    from roost.rpc.http.server_conn import ServerConnection

log = logging.getLogger("roost.rpc.http.server")

_Wakeup = asyncio.Future["eager.Suspended | None"]
SKIP_AFTER_WAIT = 32
"""After a request started eagerly had to wait, the next this many go to the task."""


class RequestQueue:
    __slots__ = ("_conn", "_items", "_loop", "_skip_eager", "_task", "_wakeup", "busy")

    def __init__(self, conn: ServerConnection, loop: asyncio.AbstractEventLoop) -> None:
        self._conn = conn
        self._loop = loop
        self._items: list[Exchange | Refusal] = []
        self._task: asyncio.Task[None] | None = None
        self._wakeup: _Wakeup | None = None
        self._skip_eager = 0
        """Requests to hand to the task before trying eagerly again: a service that waited
        last time (a proxy) likely waits again, and then starting it here only adds work."""
        self.busy = False
        """A request is being answered (or about to be)."""

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Exchange | Refusal) -> None:
        """Queue ``item``; serve it now if nothing else is being served."""
        if self._conn.finished:
            return  # the connection ends after the response already given: nothing more
        self._items.append(item)
        if self.busy or self._conn.closed:
            return
        self.busy = True
        wakeup, self._wakeup = self._wakeup, None
        if wakeup is not None and wakeup.done():
            wakeup = None  # the task was cancelled (by a service, as its own): a new one serves
        if wakeup is None:
            # a fresh context: nothing leaks from the code that started the server
            self._task = self._loop.create_task(self._serve(), context=contextvars.Context())
        elif self._skip_eager:
            self._skip_eager -= 1
            wakeup.set_result(None)
        elif len(self._items) == 1 and isinstance(item, Exchange) and self._task is not None:
            self._serve_eagerly(item, self._task, wakeup)
        else:
            wakeup.set_result(None)

    def cancel(self) -> None:
        """The connection is gone: drop what waits, cancel what runs."""
        self._items.clear()
        if self._task is not None:
            self._task.cancel()

    def _serve_eagerly(self, item: Exchange, task: asyncio.Task[None], wakeup: _Wakeup) -> None:
        """Serve ``item`` right here, as the (waiting) task; what does not finish now is left
        to the task."""
        self._items.pop()
        coro = self._serve_one(item)
        try:
            suspended = eager.start(self._loop, task, coro, contextvars.Context())
        except eager.Busy:  # called from inside some task (a test feeding bytes, say)
            coro.close()
            self._items.append(item)
            wakeup.set_result(None)
            return
        except BaseException as exc:  # only a service raising CancelledError gets here
            log.error("serving a request failed: %r", exc)
            self._conn.abort()
            suspended = None
        if suspended is None:
            self.busy = False
            self._wakeup = wakeup  # the task never stopped waiting
        elif wakeup.done():
            # the service cancelled its task (itself) before waiting: as in a task of its own,
            # the cancellation reaches it where it waits; the task ends, a new one serves next
            eager.cancel(suspended)
            self.busy = False
            self._conn.abort()  # it has no answer: the client sees the connection go
        else:
            self._skip_eager = SKIP_AFTER_WAIT
            wakeup.set_result(suspended)

    async def _serve(self) -> None:
        conn = self._conn
        try:
            while True:
                while self._items and not conn.closed:
                    item = self._items.pop(0)
                    conn.request_taken(len(self._items))
                    if isinstance(item, Refusal):
                        assert conn.transport is not None
                        conn.transport.write(plain_response(item.status, item.text))
                        conn.finish()
                        return
                    if not await eager.drive(self._serve_one(item), contextvars.Context()):
                        return
                self.busy = False
                if conn.closed:
                    return
                if conn.server.draining and conn.idle():
                    conn.finish()
                    return
                conn.served()
                wakeup = self._wakeup = self._loop.create_future()
                throw: BaseException | None = None
                try:
                    suspended = await wakeup
                except asyncio.CancelledError as exc:
                    if not wakeup.done() or wakeup.cancelled() or wakeup.result() is None:
                        raise
                    suspended = wakeup.result()
                    if self._conn.closed:  # (not narrowed by the loop's check: time passed)
                        eager.cancel(suspended)
                        raise
                    # cancelled (asyncio.timeout, a task group) just as the request was
                    # handed over: deliver it where the coroutine waits, as Task.cancel would
                    fut = suspended.yielded
                    if not (asyncio.isfuture(fut) and fut.cancel()):
                        throw = exc
                if suspended is not None:  # a request started eagerly waits for us
                    coro = cast("Coroutine[Any, Any, bool]", suspended.coro)
                    if not await eager.drive(coro, suspended.context, suspended, throw):
                        return
        finally:
            if self._task is asyncio.current_task():  # not a successor started meanwhile
                self._task = self._wakeup = None
                self.busy = False

    async def _serve_one(self, item: Exchange) -> bool:
        """Answer one request; whether the connection goes on."""
        conn = self._conn
        try:
            conn.expecting = item.stream if item.expect else None
            keep = await respond(conn, item)
            conn.expecting = None
        except OSError:
            return False  # the client went away while we wrote
        except Exception:
            log.exception("serving a connection failed")
            conn.abort()
            return False
        if not keep:
            conn.finish()
        return keep
