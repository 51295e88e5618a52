"""``roost agent``: run tasks on this machine for a roost master (Mesos agent, port 5051)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from roost.cli.common import LogLevel, fail, run_async


def agent_command(
    master: Annotated[
        str,
        typer.Option(envvar="ROOST_MASTER", help="The master as host:port (port 5050 if omitted)."),
    ] = "127.0.0.1:5050",
    ip: Annotated[str, typer.Option(envvar="ROOST_IP", help="Address to listen on.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(envvar="ROOST_PORT", help="Port to listen on.")] = 5051,
    work_dir: Annotated[
        Path, typer.Option(envvar="ROOST_WORK_DIR", help="Sandboxes and agent metadata live here.")
    ] = Path(".roost/agent"),
    hostname: Annotated[
        str | None,
        typer.Option(
            envvar="ROOST_HOSTNAME",
            help="Address advertised to the master (default: the local IP that reaches it).",
        ),
    ] = None,
    resources: Annotated[
        str | None,
        typer.Option(
            envvar="ROOST_RESOURCES",
            help="Override detected resources, e.g. 'cpus:4;mem:4096;ports:[31000-32000]'.",
        ),
    ] = None,
    attributes: Annotated[
        str | None,
        typer.Option(envvar="ROOST_ATTRIBUTES", help="Attributes, e.g. 'rack:r1;zone:a'."),
    ] = None,
    cgroups: Annotated[
        str,
        typer.Option(
            envvar="ROOST_CGROUPS", help="'auto' (limit memory and cpu where possible) or 'off'."
        ),
    ] = "auto",
    executor_registration_timeout: Annotated[
        float,
        typer.Option(
            envvar="ROOST_EXECUTOR_REGISTRATION_TIMEOUT",
            help="Seconds a custom executor has to subscribe.",
        ),
    ] = 60.0,
    executor_shutdown_grace_period: Annotated[
        float,
        typer.Option(
            envvar="ROOST_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
            help="Seconds an executor has to shut down.",
        ),
    ] = 5.0,
    log_level: LogLevel = "warning",
) -> None:
    """Run an agent: register with the master, run tasks in sandboxes, report their status."""
    from roost.cluster.agent.config import AgentConfig, ConfigError
    from roost.cluster.agent.server import run_agent

    try:
        config = AgentConfig(
            master=master,
            work_dir=work_dir,
            ip=ip,
            port=port,
            hostname=hostname,
            resources=resources,
            attributes=attributes,
            cgroups=cgroups,
            executor_registration_timeout=executor_registration_timeout,
            executor_shutdown_grace_period=executor_shutdown_grace_period,
        )
    except ConfigError as e:
        fail(str(e))
    typer.echo(f"starting roost agent on http://{ip}:{port}, master {master}", err=True)
    run_async(run_agent(config), log_level, use_uvloop=False)
