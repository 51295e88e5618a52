"""HTTP helpers shared by roost's control-plane servers (Starlette on uvicorn).

* :class:`HttpServer` runs an ASGI app on uvicorn inside the *current* event loop, so one
  process (``roost up``) can host the master, an agent and frameworks side by side. It never
  installs signal handlers: the owning command decides what SIGINT/SIGTERM mean.
* :func:`read_json` reads a request body with a size limit and parses JSON, raising
  :class:`HttpError` with a plain-text message (the Mesos error shape) on bad input.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Generator
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp

log = logging.getLogger(__name__)

DEFAULT_BODY_LIMIT = 4 * 1024 * 1024


class HttpError(Exception):
    """An error that maps to an HTTP status with a plain-text body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def response(self) -> Response:
        return PlainTextResponse(self.message, status_code=self.status, headers=self.headers)


async def read_body(request: Request, limit: int = DEFAULT_BODY_LIMIT) -> bytes:
    """Read the whole body, refusing with 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise HttpError(413, f"Request body is larger than {limit} bytes")
        except ValueError:
            raise HttpError(400, "Invalid Content-Length header") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HttpError(413, f"Request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(
    request: Request, limit: int = DEFAULT_BODY_LIMIT, require_content_type: bool = True
) -> Any:
    """Read and parse a JSON body; 415 for another media type, 400 for unparsable JSON."""
    if require_content_type:
        ctype = request.headers.get("content-type")
        if ctype is None:
            raise HttpError(400, "Expecting 'Content-Type' to be present")
        media = ctype.split(";")[0].strip().lower()
        if media != "application/json":
            raise HttpError(415, f"Expecting 'Content-Type' of application/json, got '{media}'")
    body = await read_body(request, limit)
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise HttpError(400, f"Failed to parse body into JSON: {e}") from None


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(obj, separators=(",", ":"))
    return Response(body, status_code=status, headers=headers, media_type="application/json")


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class HttpServer:
    """An ASGI app served by uvicorn in the running loop. ``port=0`` picks a free port."""

    def __init__(self, app: ASGIApp, host: str, port: int, name: str = "http") -> None:
        self.name = name
        self.host = host
        self._sock = socket.socket(
            socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM
        )
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as e:
            self._sock.close()
            raise OSError(
                e.errno, f"cannot listen on {host}:{port} for {name}: {e.strerror}"
            ) from e
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=30,
            loop="none",
            http="httptools",
        )
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._sock.listen(1024)
        self._sock.setblocking(False)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError(f"{self.name} server exited during startup")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        if self._task is None:
            self._sock.close()
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(asyncio.shield(self._task), 5)
        if not self._task.done():
            self._task.cancel()
        self._sock.close()
        self._task = None
