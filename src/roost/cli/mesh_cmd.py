"""``roost mesh --config FILE.yaml``: the Linkerd-style router."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console

from roost.cli.common import LogLevel, fail, run_async


def mesh_command(
    config: Annotated[
        Path,
        typer.Option(
            "--config", envvar="ROOST_MESH_CONFIG", help="Linkerd 1 YAML configuration file."
        ),
    ],
    log_level: LogLevel = "warning",
) -> None:
    """Run the routers, namers and admin server of a Linkerd-style configuration."""
    from roost.mesh.config import ConfigError, load_config

    try:
        text = config.read_text()
    except OSError as e:
        fail(f"cannot read {config}: {e.strerror or e}")
    try:
        parsed = load_config(text)
    except ConfigError as e:
        fail(f"{config}: {e}")
    raw = yaml.safe_load(text)
    err = Console(stderr=True)
    run_async(_run(parsed, config.resolve().parent, raw, err.print), log_level)


async def _run(parsed: object, base_dir: Path, raw: object, announce: object) -> None:
    from roost.mesh.app import Mesh
    from roost.mesh.config import MeshConfig

    assert isinstance(parsed, MeshConfig)
    mesh = Mesh(parsed, base_dir=base_dir, raw_config=raw)
    try:
        await mesh.start()
    except OSError as e:
        fail(f"cannot listen: {e.strerror or e}")
    for router, server in zip(
        (r for r in mesh.routers for _ in r.config.servers), mesh.servers, strict=True
    ):
        announce(f"router {router.name} listening on {server.address}")  # type: ignore[operator]
    if mesh.admin is not None:
        announce(f"admin on http://{mesh.admin.address}/admin/ping")  # type: ignore[operator]
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(mesh.stop())
