"""``roost master``: run the cluster kernel's master (Mesos-compatible, port 5050)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from roost.cli.common import LogLevel, fail, run_async


def master_command(
    ip: Annotated[str, typer.Option(envvar="ROOST_IP", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="ROOST_PORT", help="Port to listen on.")] = 5050,
    work_dir: Annotated[
        Path, typer.Option(envvar="ROOST_WORK_DIR", help="Where the master keeps its registry.")
    ] = Path(".roost/master"),
    store: Annotated[
        str | None,
        typer.Option(
            envvar="ROOST_STORE",
            help="Registry store URL: sqlite:///relative.db, sqlite:////abs/path.db or memory://. "
            "Default: sqlite in --work-dir.",
        ),
    ] = None,
    hostname: Annotated[
        str | None,
        typer.Option(
            envvar="ROOST_HOSTNAME",
            help="Advertised hostname (default: --ip; the machine name for 0.0.0.0).",
        ),
    ] = None,
    allocation_interval: Annotated[
        float,
        typer.Option(envvar="ROOST_ALLOCATION_INTERVAL", help="Seconds between allocation runs."),
    ] = 1.0,
    agent_ping_timeout: Annotated[
        float, typer.Option(envvar="ROOST_AGENT_PING_TIMEOUT", help="Seconds between agent pings.")
    ] = 15.0,
    max_agent_ping_timeouts: Annotated[
        int,
        typer.Option(
            envvar="ROOST_MAX_AGENT_PING_TIMEOUTS",
            help="Missed pings before an agent is marked unreachable.",
        ),
    ] = 5,
    agent_reregister_timeout: Annotated[
        float,
        typer.Option(
            envvar="ROOST_AGENT_REREGISTER_TIMEOUT",
            help="Seconds recovered agents have to re-register after a master restart.",
        ),
    ] = 600.0,
    offer_timeout: Annotated[
        float | None,
        typer.Option(
            envvar="ROOST_OFFER_TIMEOUT", help="Rescind offers not used within this many seconds."
        ),
    ] = None,
    heartbeat_interval: Annotated[
        float,
        typer.Option(envvar="ROOST_HEARTBEAT_INTERVAL", help="Seconds between HEARTBEAT events."),
    ] = 15.0,
    min_allocatable_resources: Annotated[
        str,
        typer.Option(
            envvar="ROOST_MIN_ALLOCATABLE_RESOURCES",
            help="Smallest offer, alternatives separated by '|'.",
        ),
    ] = "cpus:0.01|mem:32",
    weights: Annotated[
        str, typer.Option(envvar="ROOST_WEIGHTS", help="Role weights, e.g. 'prod=2,dev=1'.")
    ] = "",
    log_level: LogLevel = "warning",
) -> None:
    """Run the master: agent registry, DRF allocator, v1 scheduler API, operator endpoints."""
    from roost.cluster.master.config import ConfigError, MasterConfig, parse_weights

    try:
        config = MasterConfig(
            ip=ip,
            port=port,
            work_dir=work_dir,
            store=store,
            hostname=hostname,
            allocation_interval=allocation_interval,
            agent_ping_timeout=agent_ping_timeout,
            max_agent_ping_timeouts=max_agent_ping_timeouts,
            agent_reregister_timeout=agent_reregister_timeout,
            offer_timeout=offer_timeout,
            heartbeat_interval=heartbeat_interval,
            min_allocatable_resources=min_allocatable_resources,
            weights=parse_weights(weights),
        )
        config.validate()
    except ConfigError as e:
        fail(str(e))
    typer.echo(f"starting roost master on http://{ip}:{port}", err=True)
    from roost.cluster.master.server import run_master  # not paid by other commands

    run_async(run_master(config), log_level)
