"""The HTTP/1.1 server transport: ``await listen(address, service)``.

:func:`roost.rpc.http.serve` puts the server stack (stats, admission) around the service and
calls this.

Each connection is a :class:`~roost.rpc.http.server_conn.ServerConnection`; this module
holds what they share: the service, the :class:`ServerConfig`, the set of live connections
and the graceful drain of :meth:`Server.close`.

Example::

    async def hello(req: Request) -> Response:
        return Response(200, Headers([("Content-Type", "text/plain")]), b"hello\\n")

    server = await listen("127.0.0.1:0", FnService(hello))
    ...
    await server.close(grace=10)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from roost.rpc.checks import check_bool, check_int, check_optional_int, check_seconds
from roost.rpc.errors import RpcError
from roost.rpc.http.address import Address, format_address, parse_address
from roost.rpc.http.message import Request, Response
from roost.rpc.http.server_conn import ServerConnection
from roost.rpc.service import Service


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Limits and timeouts of an HTTP server (Linkerd's router ``maxHeadersKB`` 8,
    ``maxInitialLineKB`` 4). Timeouts are seconds; ``None`` turns one off."""

    max_request_line: int = 4096
    """A longer request line is answered 414."""
    max_header_bytes: int = 8192
    """A larger header section is answered 431."""
    stream_threshold: int = 64 * 1024
    """Bodies of known length up to this arrive as ``bytes``; larger or chunked ones stream."""
    body_buffer: int = 256 * 1024
    """A streamed body buffers at most about this much before the socket is paused."""
    idle_timeout: float | None = 60.0
    """A keep-alive connection with no request in progress is closed after this long."""
    read_timeout: float | None = 10.0
    """A request's head must arrive within this long of its first byte (else 408), and a
    body being read must not stall for longer (slowloris protection)."""
    write_timeout: float | None = 60.0
    """A client that reads none of our response for this long is cut off."""
    max_connections: int | None = None
    """Connections beyond this are closed as soon as they are accepted."""
    max_pipelined: int = 16
    """Requests parsed ahead of their turn before the socket is paused."""
    backlog: int = 1024
    reuse_port: bool = False

    def __post_init__(self) -> None:
        owner = "ServerConfig"
        check_int(owner, "max_request_line", self.max_request_line, minimum=64)
        check_int(owner, "max_header_bytes", self.max_header_bytes, minimum=64)
        check_int(owner, "stream_threshold", self.stream_threshold)
        check_int(owner, "body_buffer", self.body_buffer, minimum=1)
        for name in ("idle_timeout", "read_timeout", "write_timeout"):
            check_seconds(owner, name, getattr(self, name))
        check_optional_int(owner, "max_connections", self.max_connections)
        check_int(owner, "max_pipelined", self.max_pipelined, minimum=1)
        check_int(owner, "backlog", self.backlog, minimum=1)
        check_bool(owner, "reuse_port", self.reuse_port)


class Server:
    """A listening HTTP server. Counters are plain attributes: ``accepted``, ``refused``,
    ``requests``; ``connections`` is the set of open ones."""

    def __init__(self, service: Service[Request, Response], config: ServerConfig) -> None:
        self.service = service
        self.config = config
        self.connections: set[Any] = set()
        """Open connections: ``ServerConnection``\\ s (or what ``listen(protocol=)`` made)."""
        self.draining = False
        self.accepted = 0
        self.refused = 0
        self.requests = 0
        self._listener: asyncio.Server | None = None
        self._empty = asyncio.Event()
        self._empty.set()
        self._sockname: tuple[str, int] = ("", 0)

    @property
    def port(self) -> int:
        return self._sockname[1]

    @property
    def address(self) -> str:
        """``host:port`` as bound (the real port when asked for port 0)."""
        return format_address(*self._sockname)

    def connection_opened(self, conn: Any) -> bool:
        limit = self.config.max_connections
        if self.draining or (limit is not None and len(self.connections) >= limit):
            self.refused += 1
            return False
        self.accepted += 1
        self.connections.add(conn)
        self._empty.clear()
        return True

    def connection_closed(self, conn: Any) -> None:
        self.connections.discard(conn)
        if not self.connections:
            self._empty.set()

    async def close(self, grace: float = 10.0) -> None:
        """Drain: stop accepting, close idle connections now and busy ones after their
        current response; after ``grace`` seconds, cut whatever is left."""
        self.draining = True
        if self._listener is not None:
            self._listener.close()
        for conn in list(self.connections):
            conn.drain()
        try:
            async with asyncio.timeout(grace):
                await self._empty.wait()
        except TimeoutError:
            for conn in list(self.connections):
                if conn.transport is not None:
                    conn.transport.abort()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._empty.wait()
        if self._listener is not None:
            await self._listener.wait_closed()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close(grace=1.0)


async def listen(
    address: Address,
    service: Service[Request, Response],
    *,
    config: ServerConfig | None = None,
    protocol: Callable[[Server], asyncio.Protocol] | None = None,
) -> Server:
    """Listen on ``address`` (``"127.0.0.1:0"`` picks a free port) and serve ``service``.
    ``protocol(server)`` makes each connection's protocol instead of a
    :class:`~roost.rpc.http.server_conn.ServerConnection` (the mesh's fast lane, which hands
    a connection it cannot serve to one); it registers with the server as they do."""
    host, port = parse_address(address)
    server = Server(service, config or ServerConfig())
    loop = asyncio.get_running_loop()
    try:
        listener = await loop.create_server(
            (lambda: ServerConnection(server)) if protocol is None else (lambda: protocol(server)),
            host,
            port,
            backlog=server.config.backlog,
            reuse_port=server.config.reuse_port or None,
        )
    except OSError as exc:
        raise RpcError(f"cannot listen on {format_address(host, port)}: {exc}") from exc
    server._listener = listener
    sockname = listener.sockets[0].getsockname()
    server._sockname = (sockname[0], sockname[1])
    return server
