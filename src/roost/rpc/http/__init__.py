"""HTTP/1.1 for roost.rpc on httptools: :func:`client` and :func:`serve` with the full client and
server stacks; underneath, the server transport (:func:`listen`), a connection as a service
(:class:`ClientConnection`) and a per-endpoint pool (:class:`HttpEndpointFactory`).

Modules: ``message`` (values), ``address``, ``codec`` (bytes on the wire), ``body``
(received bodies as streams), ``flow`` (write back-pressure), ``conn_timer`` (a connection's
timeouts on one timer), ``propagation`` (``l5d-ctx-*`` headers), ``nack`` (503 NACKs ⇄
``Rejected``), ``server`` / ``server_conn`` / ``server_dispatch``, ``client_conn``, ``pool``.

Both ends run on whatever loop is running: uvloop when the application installed it (the
benchmarks do), else asyncio's default loop; the tests run on both.
"""

from roost.rpc.http.api import HttpClient, client, serve
from roost.rpc.http.body import BodyStream
from roost.rpc.http.client_conn import ClientConnection
from roost.rpc.http.message import Body, Headers, Request, Response, read_body
from roost.rpc.http.pool import HttpEndpointFactory, PoolConfig, request
from roost.rpc.http.server import Server, ServerConfig, listen

__all__ = [
    "Body",
    "BodyStream",
    "ClientConnection",
    "Headers",
    "HttpClient",
    "HttpEndpointFactory",
    "PoolConfig",
    "Request",
    "Response",
    "Server",
    "ServerConfig",
    "client",
    "listen",
    "read_body",
    "request",
    "serve",
]
