"""``GET /v2/events``: Marathon's event bus as a Server-Sent Events stream.

Behaviour mirrors Marathon's ``HttpEventStreamServlet`` / ``HttpEventSSEHandle`` and
``HttpEventStreamHandleActor``:

* The request must accept ``text/event-stream``. Marathon's Jetty ``EventSourceServlet``
  answers anything else with its HTML 405 page; roost answers 405 too, with
  ``{"message": ...}`` JSON like every other Marathon error.
* On connect the client is subscribed first and then ``event_stream_attached`` (with the
  client's ``remoteAddress``) is published on the bus, so every client, this one included,
  sees it; for the new client it is the first event. On disconnect, the subscription ends
  and ``event_stream_detached`` is published.
* Repeated ``?event_type=`` parameters filter the stream (since Marathon 1.3.7); without
  any, everything is sent. Like upstream, unknown names are accepted and match nothing, and
  the filter applies to ``event_stream_attached`` as well.
* Frames are ``event: <eventType>\\ndata: <one-line JSON>\\n\\n``, written as they happen.
  After ``heartbeat_interval`` seconds of silence a ``:\\n\\n`` comment goes out (Jetty writes
  a bare CRLF; a comment is the keep-alive the SSE spec recommends, and the ``marathon``
  client, which only looks at ``data:`` lines, skips both). Heartbeats also make a vanished
  client show up as a failed write.
* A client that falls ``max_queue`` events behind is disconnected (Marathon PR #6657).
* ``?plan-format=light``: upstream drops ``plan.original`` and ``plan.target`` from every
  deployment event (and from 1.8 on only sends light events). roost drops them only from
  ``deployment_success`` / ``deployment_failed``: ``marathon`` 0.13.0 crashes on a
  ``deployment_info`` / ``deployment_step_*`` plan without them, so those always keep them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from roost.core.http import json_response
from roost.marathon.events.bus import EventBus, Subscription
from roost.marathon.events.types import (
    LIGHT_PLAN_TYPES,
    event_stream_attached,
    event_stream_detached,
)

__all__ = [
    "HEARTBEAT",
    "EventStreamResponse",
    "accepts_event_stream",
    "encode_frame",
    "event_stream",
    "light_event",
]

HEARTBEAT = b":\n\n"
EVENT_STREAM = "text/event-stream"


def accepts_event_stream(request: Request) -> bool:
    """True when one of the ``Accept`` media ranges is exactly ``text/event-stream``.

    Jetty's ``EventSourceServlet`` compares the header with that string; roost also looks
    inside comma-separated lists. ``*/*`` does not count, as upstream.
    """
    for header in request.headers.getlist("accept"):
        for media_range in header.split(","):
            if media_range.split(";")[0].strip().lower() == EVENT_STREAM:
                return True
    return False


def light_event(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` as ``?plan-format=light`` sends it (a copy; the original is shared)."""
    plan = event.get("plan")
    if event.get("eventType") not in LIGHT_PLAN_TYPES or not isinstance(plan, dict):
        return event
    slim = {k: v for k, v in plan.items() if k not in ("original", "target")}
    return {**event, "plan": slim}


def encode_frame(event: dict[str, Any], *, light: bool = False) -> bytes:
    """One SSE frame; ``json.dumps`` escapes newlines, so ``data`` is a single line."""
    payload = light_event(event) if light else event
    data = json.dumps(payload, separators=(",", ":"))
    return f"event: {event['eventType']}\ndata: {data}\n\n".encode()


class EventStreamResponse(Response):
    """The open-ended SSE response; subscribes when the server starts sending it."""

    media_type = EVENT_STREAM

    def __init__(
        self,
        bus: EventBus,
        *,
        remote_address: str,
        event_types: list[str],
        light: bool,
        timestamp: Callable[[], str],
        heartbeat_interval: float,
        max_queue: int,
    ) -> None:
        self.status_code = 200
        self.background = None
        # No ``body``: Starlette would otherwise announce ``Content-Length: 0``.
        self.init_headers(
            {
                "Cache-Control": "no-cache, no-store, must-revalidate",
                "Pragma": "no-cache",
                "Expires": "0",
                "X-Accel-Buffering": "no",  # ask reverse proxies not to buffer the stream
            }
        )
        self._bus = bus
        self._remote_address = remote_address
        self._event_types = event_types
        self._light = light
        self._timestamp = timestamp
        self._heartbeat_interval = heartbeat_interval
        self._max_queue = max_queue

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        bus = self._bus
        sub = bus.subscribe(self._event_types, max_queue=self._max_queue)
        bus.publish(
            event_stream_attached(timestamp=self._timestamp(), remote_address=self._remote_address)
        )
        gone = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, sub, gone))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await self._pump(sub, send, gone)
            if not gone.is_set():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client vanished mid-write (ASGI 2.4 servers report it this way)
        finally:
            watcher.cancel()
            sub.close()
            bus.publish(
                event_stream_detached(
                    timestamp=self._timestamp(), remote_address=self._remote_address
                )
            )

    async def _pump(self, sub: Subscription, send: Send, gone: asyncio.Event) -> None:
        while not gone.is_set():
            try:
                async with asyncio.timeout(self._heartbeat_interval):
                    event = await anext(sub)
            except TimeoutError:
                chunk = HEARTBEAT
            except StopAsyncIteration:
                return  # closed by the bus, dropped as too slow, or the client left
            else:
                chunk = encode_frame(event, light=self._light)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})


async def _watch_disconnect(receive: Receive, sub: Subscription, gone: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()
    sub.close()


async def event_stream(
    request: Request,
    bus: EventBus,
    *,
    timestamp: Callable[[], str],
    heartbeat_interval: float = 15.0,
    max_queue: int = 1024,
) -> Response:
    """Answer ``GET /v2/events``: the SSE stream, or 405 JSON without ``Accept: text/event-stream``.

    ``timestamp`` formats "now" for the attached/detached events; ``max_queue`` is how many
    events the client may fall behind before it is disconnected.
    """
    if not accepts_event_stream(request):
        return json_response(
            {"message": "GET /v2/events needs the header 'Accept: text/event-stream'"},
            status=405,
            headers={"Allow": "GET"},
        )
    return EventStreamResponse(
        bus,
        remote_address=request.client.host if request.client else "",
        event_types=request.query_params.getlist("event_type"),
        light="light" in request.query_params.getlist("plan-format"),
        timestamp=timestamp,
        heartbeat_interval=heartbeat_interval,
        max_queue=max_queue,
    )
