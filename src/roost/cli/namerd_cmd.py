"""``roost namerd [--config namerd.yaml]``: dtabs in the store, served over namerd's HTTP API,
bound through the configured namers."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roost.cli.common import LogLevel, fail, run_async, say
from roost.core.gc_tuning import freeze_startup_objects

if TYPE_CHECKING:
    from roost.namerd.config import NamerdConfig

DEFAULT_STORE = "sqlite:///.roost/namerd/namerd.db"


def namerd_command(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar="ROOST_NAMERD_CONFIG",
            help="namerd YAML: admin, storage (io.l5d.inMemory or io.roost.store), namers, "
            "interfaces (io.l5d.httpController); see docs/mesh.md. --store replaces its "
            "storage, --ip and --port its interface's address.",
        ),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            envvar="ROOST_STORE",
            help="State store URL: sqlite:///relative.db, sqlite:////abs/path.db or memory://. "
            f"Replaces the file's storage (default {DEFAULT_STORE}).",
        ),
    ] = None,
    ip: Annotated[
        str | None,
        typer.Option(envvar="ROOST_IP", help="Address to listen on (default 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option(envvar="ROOST_PORT", help="HTTP API port (default 4180).")
    ] = None,
    log_level: LogLevel = "warning",
) -> None:
    """Serve dtab namespaces over namerd's HTTP API (/api/1/dtabs, bind, addr, resolve,
    delegate), binding names through the namers of --config (io.l5d.fs, io.l5d.marathon,
    io.l5d.dnssrv, io.l5d.serversets) and the system namers (/$/inet, ...)."""
    from roost.namerd.server import NamerdServer

    if port is not None and not 0 <= port <= 65535:
        fail(f"--port must be between 0 and 65535, got {port}")
    try:
        if config is None:
            server = NamerdServer(
                store or DEFAULT_STORE, ip or "127.0.0.1", 4180 if port is None else port
            )
        else:
            parsed = _load(config)
            base = config.resolve().parent
            server = NamerdServer.from_config(parsed, base, store=store, ip=ip, port=port)
    except (ValueError, OSError) as e:
        fail(str(e))
    run_async(_run(server, say), log_level)


def _load(path: Path) -> NamerdConfig:
    from roost.namerd.config import ConfigError, load_config

    try:
        text = path.read_text()
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror or e}")
    try:
        return load_config(text)
    except ConfigError as e:
        fail(f"{path}: {e}")


async def _run(server: object, announce: object) -> None:
    from roost.namerd.server import NamerdServer

    assert isinstance(server, NamerdServer)
    await server.start()
    freeze_startup_objects()
    announce(f"namerd on {server.url}/api/1/dtabs")  # type: ignore[operator]
    if server.admin_url is not None:
        announce(f"admin on {server.admin_url}/admin/ping")  # type: ignore[operator]
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(server.stop())
