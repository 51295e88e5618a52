"""The agent's connection to the master (``docs/agent-protocol.md``).

One long-lived ``POST /api/v1/agent`` SUBSCRIBE stream brings events (RecordIO, as the v1
scheduler API); calls (UPDATE, PONG, EXECUTOR_EXITED, MESSAGE) go out in order on a second
keep-alive connection with the ``Mesos-Stream-Id`` header. Whenever the stream breaks, or the
master goes quiet for five ping intervals (Mesos' agent re-detects the master after
``agent_ping_timeout * max_agent_ping_timeouts``), the link re-subscribes with exponential
backoff, sending the agent id and the agent's current tasks and unacknowledged updates.
A ``307`` is followed to ``Location: //host:port`` as pymesos and Mesos' detector do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from roost.cluster.agent.config import ConfigError, parse_master
from roost.cluster.protocol import MAX_BATCHED_UPDATES
from roost.core.logs import kv
from roost.core.recordio import Decoder

log = logging.getLogger(__name__)

#: an UPDATES call stays well under the master's 16 MiB body limit
MAX_BATCH_BYTES = 4 * 1024 * 1024

#: Before SUBSCRIBED says otherwise, how long a silent stream is trusted.
DEFAULT_SILENCE_TIMEOUT = 75.0
MISSED_PINGS = 5
CALL_TIMEOUT = 10.0


class LinkHandler(Protocol):
    """What the link needs from the agent."""

    def subscribe_call(self) -> dict[str, Any]: ...

    def on_subscribed(self, agent_id: str) -> None: ...

    def on_event(self, event: dict[str, Any]) -> None: ...

    def on_disconnected(self) -> None: ...


class _Redirect(Exception):
    def __init__(self, target: tuple[str, int]) -> None:
        super().__init__(f"{target[0]}:{target[1]}")
        self.target = target


def load_agent_id(work_dir: Path) -> str | None:
    """The id kept in ``<work_dir>/meta/agent_id`` by an earlier registration."""
    try:
        text = (work_dir / "meta" / "agent_id").read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return text or None


def save_agent_id(work_dir: Path, agent_id: str) -> None:
    meta = work_dir / "meta"
    meta.mkdir(parents=True, exist_ok=True)
    tmp = meta / f".agent_id.{os.getpid()}"
    tmp.write_text(agent_id + "\n")
    os.replace(tmp, meta / "agent_id")


class MasterLink:
    """Subscribes to the master, dispatches its events and posts calls to it."""

    def __init__(
        self,
        master: str,
        handler: LinkHandler,
        *,
        backoff_min: float = 0.5,
        backoff_max: float = 10.0,
    ) -> None:
        self._home = parse_master(master)
        self._target = self._home
        self._handler = handler
        self._backoff_min = backoff_min
        self._backoff_max = backoff_max
        self._stream_client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None))
        self._call_client = httpx.AsyncClient(timeout=CALL_TIMEOUT)
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._stream_id: str | None = None
        self._silence = DEFAULT_SILENCE_TIMEOUT
        self._attempt: asyncio.Task[None] | None = None
        self._got_subscribed = False
        self._last_activity = 0.0
        self.agent_id: str | None = None
        self.master_hostname: str | None = None

    @property
    def subscribed(self) -> bool:
        return self._stream_id is not None

    @property
    def master(self) -> str:
        host, port = self._target
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name="agent-master-link"),
            asyncio.create_task(self._send_loop(), name="agent-master-calls"),
        ]

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []
        self._stream_id = None
        await self._stream_client.aclose()
        await self._call_client.aclose()

    def send(self, call_type: str, payload: dict[str, Any] | None = None) -> None:
        """Queue a call; calls made while unsubscribed are dropped (updates are retried)."""
        call: dict[str, Any] = {"type": call_type}
        if payload is not None:
            call[call_type.lower()] = payload
        self._outbox.put_nowait(call)

    def reconnect(self) -> None:
        """Drop the current stream and re-subscribe (the master said we are not subscribed)."""
        if self._attempt is not None and not self._attempt.done():
            self._attempt.cancel()

    # -- the event stream -------------------------------------------------------------------
    async def _run(self) -> None:
        backoff = self._backoff_min
        redirects = 0
        try:
            while True:
                self._got_subscribed = False
                try:
                    await self._watch(asyncio.create_task(self._subscribe_once()))
                except _Redirect as r:
                    log.info("master redirected", extra=kv(to=f"{r.target[0]}:{r.target[1]}"))
                    self._target = r.target
                    redirects += 1
                    if redirects <= 3:
                        continue
                except Exception as e:  # any failure of a session: back off and subscribe again
                    log.warning("cannot reach master", extra=kv(master=self.master, error=str(e)))
                    self._target = self._home
                finally:
                    if self._stream_id is not None:
                        self._stream_id = None
                        self._handler.on_disconnected()
                if self._got_subscribed:
                    backoff, redirects = self._backoff_min, 0
                await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
                backoff = min(backoff * 2, self._backoff_max)
        finally:
            attempt = self._attempt
            if attempt is not None and not attempt.done():
                attempt.cancel()
                await asyncio.gather(attempt, return_exceptions=True)

    async def _watch(self, attempt: asyncio.Task[None]) -> None:
        """Wait for one subscription to end; cancel it when the master goes silent.

        The stream is read in ``attempt`` alone: httpx streams must not hop between tasks
        (``asyncio.wait_for`` around ``__anext__`` would), or cancelling them can hang.
        """
        self._attempt = attempt
        loop = asyncio.get_running_loop()
        self._last_activity = loop.time()
        while True:
            done, _ = await asyncio.wait({attempt}, timeout=min(1.0, self._silence))
            if done:
                break
            if loop.time() - self._last_activity > self._silence:
                log.warning("master silent, re-subscribing", extra=kv(seconds=self._silence))
                attempt.cancel()
        if not attempt.cancelled():
            attempt.result()  # raises what the attempt raised
            log.warning("master stream ended", extra=kv(master=self.master))

    async def _subscribe_once(self) -> None:
        url = self._url()
        body = json.dumps(self._handler.subscribe_call()).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self._silence = DEFAULT_SILENCE_TIMEOUT
        async with self._stream_client.stream("POST", url, content=body, headers=headers) as resp:
            if resp.status_code == 307:
                raise _Redirect(_location(resp.headers.get("location", "")))
            if resp.status_code != 200:
                text = (await resp.aread())[:300].decode(errors="replace")
                raise ValueError(f"SUBSCRIBE answered {resp.status_code}: {text}")
            stream_id = resp.headers.get("mesos-stream-id")
            if not stream_id:
                raise ValueError("SUBSCRIBE response has no Mesos-Stream-Id header")
            decoder = Decoder()
            loop = asyncio.get_running_loop()
            async for chunk in resp.aiter_bytes():
                self._last_activity = loop.time()
                for record in decoder.feed(chunk):
                    event = json.loads(record)
                    if not isinstance(event, dict):
                        raise ValueError("event is not a JSON object")
                    if self._dispatch(event, stream_id):
                        self._got_subscribed = True
                    elif event.get("type") == "ERROR":
                        return

    def _dispatch(self, event: dict[str, Any], stream_id: str) -> bool:
        """Handle one event; True when it was SUBSCRIBED."""
        etype = event.get("type")
        if etype == "SUBSCRIBED":
            sub = event.get("subscribed") or {}
            agent_id = (sub.get("agent_id") or {}).get("value")
            if not isinstance(agent_id, str) or not agent_id:
                raise ValueError("SUBSCRIBED without agent_id")
            interval = sub.get("ping_interval_seconds")
            if isinstance(interval, int | float) and interval > 0:
                self._silence = float(interval) * MISSED_PINGS
            self._stream_id = stream_id
            self.agent_id = agent_id
            self.master_hostname = self._target[0]
            log.info("subscribed to master", extra=kv(master=self.master, agent_id=agent_id))
            self._handler.on_subscribed(agent_id)
            return True
        if self._stream_id is None:
            raise ValueError(f"event {etype!r} before SUBSCRIBED")
        if etype == "PING":
            self.send("PONG")
        elif etype == "ERROR":
            message = (event.get("error") or {}).get("message")
            log.error("master sent ERROR", extra=kv(message=message))
        else:
            try:
                self._handler.on_event(event)
            except Exception:
                log.exception("failed to handle master event", extra=kv(type=etype))
        return False

    # -- calls ------------------------------------------------------------------------------
    async def _send_loop(self) -> None:
        """Post queued calls in order; UPDATEs ready together go as one UPDATES call."""
        carry: dict[str, Any] | None = None
        while True:
            call = carry if carry is not None else await self._outbox.get()
            carry = None
            if call["type"] == "UPDATE":
                batch = [call["update"]]
                size = len(json.dumps(call["update"]))
                while len(batch) < MAX_BATCHED_UPDATES and not self._outbox.empty():
                    more = self._outbox.get_nowait()
                    more_size = len(json.dumps(more["update"])) if more["type"] == "UPDATE" else 0
                    if more["type"] != "UPDATE" or size + more_size > MAX_BATCH_BYTES:
                        carry = more
                        break
                    batch.append(more["update"])
                    size += more_size
                if len(batch) > 1:
                    call = {"type": "UPDATES", "updates": {"updates": batch}}
            await self._post(call)

    async def _post(self, call: dict[str, Any]) -> None:
        stream_id, agent_id = self._stream_id, self.agent_id
        if stream_id is None or agent_id is None:
            log.debug("dropping call while unsubscribed", extra=kv(type=call["type"]))
            return
        call["agent_id"] = {"value": agent_id}
        headers = {"Content-Type": "application/json", "Mesos-Stream-Id": stream_id}
        try:
            resp = await self._call_client.post(
                self._url(), content=json.dumps(call).encode(), headers=headers
            )
        except httpx.HTTPError as e:
            log.warning("call failed", extra=kv(type=call["type"], error=str(e)))
            return
        if resp.status_code == 403 and self._stream_id == stream_id:
            log.warning("master says agent is not subscribed; re-subscribing")
            self.reconnect()
        elif resp.status_code // 100 != 2:
            log.warning(
                "call rejected",
                extra=kv(type=call["type"], status=resp.status_code, body=resp.text[:200]),
            )

    def _url(self) -> str:
        return f"http://{self.master}/api/v1/agent"


def _location(value: str) -> tuple[str, int]:
    """``//host:port`` (or ``http://host:port/...``) from a 307 to ``(host, port)``."""
    netloc = urlsplit(value).netloc if "//" in value else value
    try:
        return parse_master(netloc)
    except ConfigError:
        raise ValueError(f"bad redirect Location {value!r}") from None
