"""Long-lived RecordIO event streams (the SUBSCRIBE responses of the v1 APIs).

An :class:`EventStream` is both the master's handle for pushing events to one subscriber and
the ASGI response that writes them: ``200``, ``Transfer-Encoding: chunked`` (no
Content-Length), ``Mesos-Stream-Id``, each event one RecordIO record. Queued events are
coalesced into one chunk. A subscriber that stops reading is cut off once its queue holds
:attr:`max_queued` events, so a stuck client cannot grow the master's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.types import Receive, Scope, Send

from roost.core.ids import new_uuid

log = logging.getLogger(__name__)


class EventStream:
    def __init__(
        self,
        on_close: Callable[[EventStream], None] | None = None,
        max_queued: int = 50_000,
    ) -> None:
        self.stream_id = new_uuid()
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._on_close = on_close
        self._max = max_queued
        self.closed = False
        self._close_notified = False
        self.events_sent = 0

    def send(self, event: dict[str, Any]) -> None:
        if self.closed:
            return
        if self._queue.qsize() >= self._max:
            log.warning("event stream %s is not being read; closing it", self.stream_id)
            self.close()
            return
        body = json.dumps(event, separators=(",", ":")).encode()
        self._queue.put_nowait(b"%d\n%s" % (len(body), body))

    def close(self) -> None:
        """Finish the response; the subscriber sees the stream end."""
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)

    def _notify_closed(self) -> None:
        self.closed = True
        if not self._close_notified:
            self._close_notified = True
            if self._on_close is not None:
                self._on_close(self)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"mesos-stream-id", self.stream_id.encode()),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        watcher = asyncio.create_task(self._watch_disconnect(receive))
        try:
            while True:
                item = await self._queue.get()
                if item is None:
                    break
                parts = [item]
                end = False
                while not self._queue.empty():
                    nxt = self._queue.get_nowait()
                    if nxt is None:
                        end = True
                        break
                    parts.append(nxt)
                await send(
                    {"type": "http.response.body", "body": b"".join(parts), "more_body": True}
                )
                self.events_sent += len(parts)
                if end:
                    break
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass
        finally:
            watcher.cancel()
            self._notify_closed()

    async def _watch_disconnect(self, receive: Receive) -> None:
        with contextlib.suppress(Exception):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    break
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)
