"""HTTP/1.1 for roost.rpc on httptools: a server (:func:`serve`), a connection as a service
(:class:`ClientConnection`) and a per-endpoint pool (:class:`HttpEndpointFactory`).

Modules: ``message`` (values), ``address``, ``codec`` (bytes on the wire), ``body``
(received bodies as streams), ``flow`` (write back-pressure), ``conn_timer`` (a connection's
timeouts on one timer), ``propagation`` (``l5d-ctx-*`` headers), ``nack`` (503 NACKs ⇄
``Rejected``), ``server`` / ``server_conn`` / ``server_dispatch``, ``client_conn``, ``pool``.

Both ends run on whatever loop is running: uvloop when the application installed it (the
benchmarks do), else asyncio's default loop; the tests run on both.
"""

from roost.rpc.http.body import BodyStream
from roost.rpc.http.client_conn import ClientConnection
from roost.rpc.http.message import Body, Headers, Request, Response, read_body
from roost.rpc.http.pool import HttpEndpointFactory, PoolConfig, request
from roost.rpc.http.server import Server, ServerConfig, serve

__all__ = [
    "Body",
    "BodyStream",
    "ClientConnection",
    "Headers",
    "HttpEndpointFactory",
    "PoolConfig",
    "Request",
    "Response",
    "Server",
    "ServerConfig",
    "read_body",
    "request",
    "serve",
]
