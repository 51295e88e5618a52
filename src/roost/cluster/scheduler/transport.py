"""HTTP transport of the v1 scheduler API: the SUBSCRIBE stream and the other calls.

The stream and the calls use two separate httpx clients, so calls travel over their own
keep-alive connection, as the API requires. A non-leading master answers ``307`` with
``Location: //leader:port/...``; SUBSCRIBE follows it, and calls then go to the new leader.
httpx and ``OSError`` failures are translated here (see ``errors.py``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from roost.cluster.scheduler.errors import CallRejected, MasterUnreachable, SchedulerError
from roost.core.recordio import Decoder, RecordIOError

PATH = "/api/v1/scheduler"
MAX_REDIRECTS = 5
_JSON = {"Content-Type": "application/json", "Accept": "application/json"}


def master_url(master: str) -> str:
    """``host:port``, ``//host:port`` or ``http(s)://host:port[/]`` → ``http(s)://host:port``."""
    text = master.strip()
    if text.startswith("zk://"):
        raise ValueError("zk:// master detection is not supported yet; give host:port")
    if "://" not in text:
        text = "http:" + text if text.startswith("//") else "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"bad master address '{master}': expected host:port or http://host:port")
    return f"{parts.scheme}://{parts.netloc}"


def redirect_target(location: str, current: str) -> str:
    """The leader's base URL from a 307 ``Location`` (scheme-relative in Mesos)."""
    if location.startswith("//"):
        return master_url(urlsplit(current).scheme + ":" + location)
    return master_url(location) if "://" in location else current


def describe(error: BaseException) -> str:
    """httpx timeouts often have an empty message; always say what happened."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def new_client(timeout: httpx.Timeout) -> httpx.AsyncClient:
    # trust_env=False: a cluster-internal master must not be reached through HTTP(S)_PROXY.
    return httpx.AsyncClient(timeout=timeout, trust_env=False, follow_redirects=False)


async def post_call(
    client: httpx.AsyncClient, master: str, body: dict[str, Any], stream_id: str
) -> None:
    """POST one call; anything but 2xx raises :class:`CallRejected` with the master's text."""
    kind = str(body.get("type"))
    headers = {**_JSON, "Mesos-Stream-Id": stream_id}
    try:
        resp = await client.post(master + PATH, content=json.dumps(body), headers=headers)
    except (httpx.HTTPError, OSError) as e:
        raise MasterUnreachable(f"{kind} to {master} failed: {describe(e)}") from e
    if not 200 <= resp.status_code < 300:
        message = resp.text
        if resp.status_code == 307:
            message = f"not the leading master (leader: {resp.headers.get('location', '?')})"
        raise CallRejected(kind, resp.status_code, message)


class SubscribeRefused(SchedulerError):
    """SUBSCRIBE answered with a status other than 200/307; 4xx are not worth retrying."""

    def __init__(self, status: int, message: str) -> None:
        text = message.strip() or "(no message)"
        super().__init__(
            f"master refused SUBSCRIBE with HTTP {status}: {text}", retryable=status >= 500
        )
        self.status = status
        self.master_message = text


@dataclass
class Subscription:
    master: str
    stream_id: str
    response: httpx.Response

    async def events(self) -> AsyncGenerator[dict[str, Any], None]:
        """Decoded events until the master closes the stream."""
        decoder = Decoder()
        try:
            async for chunk in self.response.aiter_raw():
                for record in decoder.feed(chunk):
                    event = json.loads(record)
                    if isinstance(event, dict):
                        yield event
        except (httpx.HTTPError, OSError) as e:
            raise MasterUnreachable(f"event stream from {self.master} broke: {describe(e)}") from e
        except (RecordIOError, ValueError) as e:
            raise SchedulerError(f"malformed event stream: {e}", retryable=True) from e


@asynccontextmanager
async def subscribe(
    client: httpx.AsyncClient, master: str, body: dict[str, Any]
) -> AsyncIterator[Subscription]:
    """Open the SUBSCRIBE stream, following up to :data:`MAX_REDIRECTS` leader redirects."""
    content = json.dumps(body)
    for _ in range(MAX_REDIRECTS + 1):
        request = client.build_request("POST", master + PATH, content=content, headers=_JSON)
        try:
            resp = await client.send(request, stream=True)
        except (httpx.HTTPError, OSError) as e:
            raise MasterUnreachable(f"cannot subscribe to {master}: {describe(e)}") from e
        try:
            if resp.status_code == 307 and "location" in resp.headers:
                master = redirect_target(resp.headers["location"], master)
                continue
            if resp.status_code != 200:
                raise SubscribeRefused(resp.status_code, await _text(resp, master))
            yield Subscription(master, resp.headers.get("mesos-stream-id", ""), resp)
            return
        finally:
            await resp.aclose()
    raise MasterUnreachable(f"more than {MAX_REDIRECTS} leader redirects, last to {master}")


async def _text(resp: httpx.Response, master: str) -> str:
    try:
        return (await resp.aread()).decode(errors="replace")
    except (httpx.HTTPError, OSError) as e:
        raise MasterUnreachable(f"cannot subscribe to {master}: {describe(e)}") from e
