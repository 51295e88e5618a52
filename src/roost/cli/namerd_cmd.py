"""``roost namerd``: dtabs in the store, served over namerd's HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer
from rich.console import Console

from roost.cli.common import LogLevel, fail, run_async
from roost.core.gc_tuning import freeze_startup_objects


def namerd_command(
    store: Annotated[
        str,
        typer.Option(
            envvar="ROOST_STORE",
            help="State store URL: sqlite:///relative.db, sqlite:////abs/path.db or memory://.",
        ),
    ] = "sqlite:///.roost/namerd/namerd.db",
    ip: Annotated[str, typer.Option(envvar="ROOST_IP", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="ROOST_PORT", help="HTTP API port.")] = 4180,
    log_level: LogLevel = "warning",
) -> None:
    """Serve dtab namespaces over namerd's HTTP API (/api/1/dtabs, bind, delegate)."""
    from roost.namerd.server import NamerdServer

    if not 0 <= port <= 65535:
        fail(f"--port must be between 0 and 65535, got {port}")
    try:
        server = NamerdServer(store, ip, port)
    except (ValueError, OSError) as e:
        fail(str(e))
    err = Console(stderr=True)
    run_async(_run(server, err.print), log_level)


async def _run(server: object, announce: object) -> None:
    from roost.namerd.server import NamerdServer

    assert isinstance(server, NamerdServer)
    await server.start()
    freeze_startup_objects()
    announce(f"namerd on {server.url}/api/1/dtabs")  # type: ignore[operator]
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(server.stop())
