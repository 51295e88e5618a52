"""``roost mesh --config FILE.yaml [--workers N]``: the Linkerd-style router."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
import yaml

from roost.cli.common import LogLevel, fail, run_async, say
from roost.core.gc_tuning import freeze_startup_objects


def mesh_command(
    config: Annotated[
        Path,
        typer.Option(
            "--config", envvar="ROOST_MESH_CONFIG", help="Linkerd 1 YAML configuration file."
        ),
    ],
    workers: Annotated[
        int,
        typer.Option(
            envvar="ROOST_MESH_WORKERS",
            help="Processes sharing the router ports (SO_REUSEPORT); the first serves admin.",
        ),
    ] = 1,
    worker: Annotated[int, typer.Option(hidden=True)] = 0,
    log_level: LogLevel = "warning",
) -> None:
    """Run the routers, namers and admin server of a Linkerd-style configuration.

    Plain requests take the fast lane; ROOST_MESH_LANE=0 turns it off (docs/mesh.md)."""
    from roost.mesh.config import ConfigError, load_config

    if not 1 <= workers <= 64:
        fail(f"--workers must be between 1 and 64, got {workers}")
    try:
        text = config.read_text()
    except OSError as e:
        fail(f"cannot read {config}: {e.strerror or e}")
    try:
        parsed = load_config(text)
    except ConfigError as e:
        fail(f"{config}: {e}")
    raw = yaml.safe_load(text)
    children = [] if worker else _spawn_workers(config, workers, log_level)
    try:
        run_async(
            _run(parsed, config.resolve().parent, raw, say, workers > 1, worker == 0),
            log_level,
        )
    finally:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(5)
            except subprocess.TimeoutExpired:
                child.kill()


def _spawn_workers(config: Path, workers: int, log_level: str) -> list[subprocess.Popen[bytes]]:
    args = [sys.executable, "-m", "roost", "mesh", "--config", str(config),
            "--workers", str(workers), "--log-level", log_level]  # fmt: skip
    env = dict(os.environ)
    return [
        subprocess.Popen([*args, "--worker", str(i)], env=env, preexec_fn=_die_with_parent)
        for i in range(1, workers)
    ]


def _die_with_parent() -> None:
    """In the child: SIGTERM when the parent dies, even by SIGKILL (Linux prctl)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


async def _run(
    parsed: object, base_dir: Path, raw: object, announce: object, shared: bool, admin: bool
) -> None:
    from roost.mesh.app import Mesh
    from roost.mesh.config import MeshConfig

    assert isinstance(parsed, MeshConfig)
    mesh = Mesh(parsed, base_dir=base_dir, raw_config=raw, reuse_port=shared, admin=admin)
    try:
        await mesh.start()
    except OSError as e:
        fail(f"cannot listen: {e.strerror or e}")
    freeze_startup_objects()
    if admin:
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
