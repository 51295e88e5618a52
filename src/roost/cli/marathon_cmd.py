"""``roost marathon``: the Marathon-compatible orchestrator (REST API v2 on port 8080)."""

from __future__ import annotations

from typing import Annotated

import typer

from roost.cli.common import LogLevel, fail, run_async, say


def marathon_command(
    master: Annotated[
        str, typer.Option(envvar="ROOST_MASTER", help="The master, HOST:PORT.")
    ] = "127.0.0.1:5050",
    store: Annotated[
        str,
        typer.Option(
            envvar="ROOST_STORE",
            help="State store URL: sqlite:///relative.db, sqlite:////abs/path.db or memory://.",
        ),
    ] = "sqlite:///.roost/marathon/marathon.db",
    ip: Annotated[str, typer.Option(envvar="ROOST_IP", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="ROOST_PORT", help="HTTP API port.")] = 8080,
    hostname: Annotated[
        str | None,
        typer.Option(envvar="ROOST_HOSTNAME", help="Advertised hostname (default: --ip)."),
    ] = None,
    framework_name: Annotated[
        str, typer.Option(envvar="ROOST_FRAMEWORK_NAME", help="Framework name at the master.")
    ] = "marathon",
    failover_timeout: Annotated[
        float,
        typer.Option(
            envvar="ROOST_FAILOVER_TIMEOUT",
            help="Seconds the master keeps our tasks while marathon is away.",
        ),
    ] = 7 * 24 * 3600.0,
    decline_offer_duration: Annotated[
        float,
        typer.Option(
            envvar="ROOST_DECLINE_OFFER_DURATION",
            help="Seconds an unneeded offer is refused for (until work appears).",
        ),
    ] = 120.0,
    local_port_min: Annotated[
        int, typer.Option(envvar="ROOST_LOCAL_PORT_MIN", help="Lowest service port assigned.")
    ] = 10000,
    local_port_max: Annotated[
        int,
        typer.Option(
            envvar="ROOST_LOCAL_PORT_MAX", help="Service ports are assigned below this port."
        ),
    ] = 20000,
    log_level: LogLevel = "warning",
) -> None:
    """Run the Marathon-compatible orchestrator as a framework of the master."""
    from roost.marathon.config import ConfigError, MarathonConfig
    from roost.marathon.server import run_marathon

    config = MarathonConfig(
        master=master,
        store=store,
        ip=ip,
        port=port,
        hostname=hostname,
        framework_name=framework_name,
        failover_timeout=failover_timeout,
        decline_offer_duration=decline_offer_duration,
        local_port_min=local_port_min,
        local_port_max=local_port_max,
    )
    try:
        config.validate()
    except ConfigError as e:
        fail(str(e))
    run_async(run_marathon(config, announce=say), log_level)
