"""Every configuration value of roost.rpc is checked where it is set: a wrong type is a
TypeError and a value out of range a ValueError, each naming ``Owner.field`` and the value.
Table-driven; the API level (``client()`` / ``serve()``) is checked too, and a refused
``serve()`` leaves nothing listening."""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import Callable
from typing import Any

import pytest

from roost.rpc.client_stack import (
    AttemptTimeout,
    Label,
    LoadBalancing,
    NackAdmission,
    Retries,
    TotalTimeout,
)
from roost.rpc.http import PoolConfig, Request, Response, ServerConfig, client, serve
from roost.rpc.server_stack import ConcurrencyLimit, ServerLabel
from roost.rpc.service import FnService

BAD: list[tuple[Callable[[], object], type[Exception], str]] = [
    # PoolConfig
    (lambda: PoolConfig(low=-1), ValueError, "PoolConfig.low must be at least 0, got -1"),
    (lambda: PoolConfig(low=1.5), TypeError, "PoolConfig.low must be an integer, got 1.5"),  # type: ignore[arg-type]
    (lambda: PoolConfig(high=0), ValueError, "PoolConfig.high must be at least 1, got 0"),
    (lambda: PoolConfig(high=True), TypeError, "PoolConfig.high must be an integer, got True"),
    (lambda: PoolConfig(low=5, high=2), ValueError, "PoolConfig.low (5) must not exceed high (2)"),
    (lambda: PoolConfig(max_waiters=-3), ValueError, "PoolConfig.max_waiters must be at least 0"),
    (lambda: PoolConfig(idle_ttl=0), ValueError, "PoolConfig.idle_ttl must be a finite number"),
    (lambda: PoolConfig(idle_ttl=-1.0), ValueError, "PoolConfig.idle_ttl must be a finite"),
    (lambda: PoolConfig(idle_ttl=math.inf), ValueError, "PoolConfig.idle_ttl must be a finite"),
    (lambda: PoolConfig(connect_timeout=math.nan), ValueError, "PoolConfig.connect_timeout"),
    (lambda: PoolConfig(connect_timeout="1s"), TypeError, "PoolConfig.connect_timeout must be a number of seconds"),  # type: ignore[arg-type]
    (lambda: PoolConfig(stream_threshold=-1), ValueError, "PoolConfig.stream_threshold"),
    (lambda: PoolConfig(body_buffer=0), ValueError, "PoolConfig.body_buffer must be at least 1"),
    # ServerConfig
    (lambda: ServerConfig(max_request_line=10), ValueError, "ServerConfig.max_request_line must be at least 64, got 10"),
    (lambda: ServerConfig(max_header_bytes="8k"), TypeError, "ServerConfig.max_header_bytes must be an integer"),  # type: ignore[arg-type]
    (lambda: ServerConfig(stream_threshold=-5), ValueError, "ServerConfig.stream_threshold"),
    (lambda: ServerConfig(body_buffer=0), ValueError, "ServerConfig.body_buffer must be at least 1"),
    (lambda: ServerConfig(idle_timeout=0), ValueError, "ServerConfig.idle_timeout must be a finite"),
    (lambda: ServerConfig(read_timeout=-1), ValueError, "ServerConfig.read_timeout must be a finite"),
    (lambda: ServerConfig(write_timeout=math.inf), ValueError, "ServerConfig.write_timeout"),
    (lambda: ServerConfig(max_connections=0), ValueError, "ServerConfig.max_connections must be at least 1"),
    (lambda: ServerConfig(max_pipelined=0), ValueError, "ServerConfig.max_pipelined must be at least 1"),
    (lambda: ServerConfig(backlog=-1), ValueError, "ServerConfig.backlog must be at least 1"),
    (lambda: ServerConfig(reuse_port="yes"), TypeError, "ServerConfig.reuse_port must be True or False"),  # type: ignore[arg-type]
    # client stack params
    (lambda: Label(""), ValueError, "Label.name must be 1-1000 printable characters"),
    (lambda: Label("a b"), ValueError, "Label.name must be 1-1000 printable characters"),
    (lambda: Label(7), TypeError, "Label.name must be a string, got 7"),  # type: ignore[arg-type]
    (lambda: TotalTimeout(0), ValueError, "TotalTimeout.seconds must be a finite number"),
    (lambda: AttemptTimeout(-0.5), ValueError, "AttemptTimeout.seconds must be a finite number"),
    (lambda: Retries(-1), ValueError, "Retries.max_retries must be at least 0, got -1"),
    (lambda: Retries(1000), ValueError, "Retries.max_retries must be at most 100, got 1000"),
    (lambda: Retries(2, backoff=0.1), TypeError, "Retries.backoff must be a Backoff"),  # type: ignore[arg-type]
    (lambda: LoadBalancing("fastest"), ValueError, "LoadBalancing.kind: unknown load balancer 'fastest'"),
    (lambda: LoadBalancing(max_effort=0), ValueError, "LoadBalancing.max_effort must be at least 1"),
    (lambda: LoadBalancing(decay_time=None), TypeError, "LoadBalancing.decay_time must be a number of seconds, got None"),  # type: ignore[arg-type]
    (lambda: NackAdmission(1), TypeError, "NackAdmission.enabled must be True or False"),  # type: ignore[arg-type]
    # server stack params
    (lambda: ServerLabel("x\ny"), ValueError, "ServerLabel.name must be 1-1000 printable"),
    (lambda: ConcurrencyLimit(0), ValueError, "ConcurrencyLimit.max_concurrent must be at least 1, got 0"),
    (lambda: ConcurrencyLimit(10, max_waiters=-1), ValueError, "ConcurrencyLimit.max_waiters must be at least 0"),
    # the one-line API
    (lambda: client("127.0.0.1:1", label=""), ValueError, "Label.name"),
    (lambda: client("127.0.0.1:1", retries=-2), ValueError, "Retries.max_retries"),
    (lambda: client("127.0.0.1:1", total_timeout=0.0), ValueError, "TotalTimeout.seconds"),
    (lambda: client("127.0.0.1:1", attempt_timeout=math.nan), ValueError, "AttemptTimeout.seconds"),
    (lambda: client("127.0.0.1:1", balancer="fastest"), ValueError, "unknown load balancer"),
    (lambda: client("127.0.0.1:1", pool=PoolConfig(high=-1)), ValueError, "PoolConfig.high"),
    (lambda: client(""), ValueError, "no endpoints"),
    (lambda: client("localhost"), ValueError, "'localhost': expected host:port"),
]  # fmt: skip


@pytest.mark.parametrize(("make", "error", "message"), BAD)
def test_bad_value_is_a_specific_error(
    make: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as info:
        make()
    assert message in str(info.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: PoolConfig(low=0, high=1, max_waiters=0, idle_ttl=None, connect_timeout=None),
        lambda: PoolConfig(low=3, high=3, idle_ttl=0.001, connect_timeout=5),
        lambda: ServerConfig(idle_timeout=None, read_timeout=None, write_timeout=None),
        lambda: ServerConfig(max_connections=1, max_pipelined=1, backlog=1, reuse_port=True),
        lambda: Label("$/inet/127.1/8080"),
        lambda: Retries(0),
        lambda: LoadBalancing("aperture", max_effort=1, decay_time=0.5),
        lambda: ConcurrencyLimit(None, 0),
    ],
)
def test_edge_values_are_accepted(make: Callable[[], object]) -> None:
    make()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"label": "has space"}, "ServerLabel.name"),
        ({"max_concurrent": 0}, "ConcurrencyLimit.max_concurrent"),
        ({"max_waiters": -1}, "ConcurrencyLimit.max_waiters"),
        ({"deadline_admission": "maybe"}, "deadline_admission must be"),
    ],
)
async def test_a_refused_serve_leaves_nothing_listening(
    options: dict[str, Any], message: str
) -> None:
    port = _free_port()

    async def ok(req: Request) -> Response:
        return Response(200)

    with pytest.raises(ValueError, match=message):
        await serve(("127.0.0.1", port), FnService(ok), **options)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
