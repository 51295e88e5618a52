"""``roost up``: a whole one-machine cluster in one process (master, one local agent, Marathon)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from roost.cli.common import LogLevel, fail, run_async
from roost.core.gc_tuning import freeze_startup_objects

if TYPE_CHECKING:
    from roost.cluster.master.config import MasterConfig


def up_command(
    work_dir: Annotated[
        Path, typer.Option(envvar="ROOST_WORK_DIR", help="State and sandboxes live here.")
    ] = Path(".roost"),
    ip: Annotated[
        str, typer.Option(envvar="ROOST_IP", help="Address every server listens on.")
    ] = "127.0.0.1",
    master_port: Annotated[
        int, typer.Option(envvar="ROOST_MASTER_PORT", help="Master port.")
    ] = 5050,
    agent_port: Annotated[int, typer.Option(envvar="ROOST_AGENT_PORT", help="Agent port.")] = 5051,
    marathon_port: Annotated[
        int, typer.Option(envvar="ROOST_MARATHON_PORT", help="Marathon API port (0 = off).")
    ] = 8080,
    resources: Annotated[
        str | None,
        typer.Option(
            envvar="ROOST_RESOURCES", help="Override the local agent's detected resources."
        ),
    ] = None,
    attributes: Annotated[
        str | None, typer.Option(envvar="ROOST_ATTRIBUTES", help="Attributes of the local agent.")
    ] = None,
    log_level: LogLevel = "warning",
) -> None:
    """Start a master, one local agent and Marathon (port 8080) in this process; Ctrl-C stops
    everything."""
    from roost.cluster.agent.config import AgentConfig
    from roost.cluster.agent.config import ConfigError as AgentConfigError
    from roost.cluster.master.config import ConfigError, MasterConfig

    try:
        mconf = MasterConfig(ip=ip, port=master_port, work_dir=work_dir / "master")
        mconf.validate()
        aconf = AgentConfig(
            master=f"{ip}:{master_port}",
            work_dir=work_dir / "agent",
            ip=ip,
            port=agent_port,
            hostname=ip,
            resources=resources,
            attributes=attributes,
        )
        if not 0 <= marathon_port <= 65535:
            raise ConfigError(f"--marathon-port must be between 0 and 65535, got {marathon_port}")
    except (ConfigError, AgentConfigError) as e:
        fail(str(e))
    run_async(_up(mconf, aconf, marathon_port), log_level, use_uvloop=False)


async def _up(mconf: MasterConfig, aconf: object, marathon_port: int) -> None:
    # imported here: `roost <any command>` should not pay for the master and Marathon
    from rich.console import Console
    from rich.table import Table

    from roost.cluster.agent.config import AgentConfig
    from roost.cluster.agent.server import AgentServer
    from roost.cluster.master.server import MasterServer
    from roost.marathon.config import MarathonConfig
    from roost.marathon.server import MarathonServer

    assert isinstance(aconf, AgentConfig)
    console = Console(stderr=True)
    master = MasterServer(mconf)
    await master.start()
    aconf.master = master.address
    agent = AgentServer(aconf)
    marathon: MarathonServer | None = None
    try:
        await agent.start()
        await asyncio.wait_for(agent.registered.wait(), 30)
        if marathon_port:
            marathon = MarathonServer(
                MarathonConfig(
                    master=master.address,
                    store=f"sqlite:///{mconf.work_dir.parent / 'marathon' / 'marathon.db'}",
                    ip=mconf.ip,
                    port=marathon_port,
                )
            )
            await marathon.start()
        freeze_startup_objects()
        table = Table(title="roost is up", show_header=True)
        table.add_column("service")
        table.add_column("endpoint")
        base = f"http://{mconf.ip}"
        table.add_row("master", f"{base}:{master.port}  (state: /master/state, metrics: /metrics)")
        table.add_row("scheduler API", f"{base}:{master.port}/api/v1/scheduler")
        table.add_row("agent", f"{base}:{agent.port}  (state: /state, sandboxes: /files/browse)")
        if marathon is not None:
            table.add_row(
                "marathon", f"{base}:{marathon.port}  (apps: /v2/apps, events: /v2/events)"
            )
        table.add_row("work dir", str(mconf.work_dir.parent.resolve()))
        console.print(table)
        console.print(
            f"Try: roost run-task --master {master.address} -- echo hello   (Ctrl-C to stop)"
        )
        if marathon is not None:
            console.print(
                f'  or: curl -H \'Content-Type: application/json\' -d \'{{"id": "hello", '
                f'"cmd": "sleep 60", "cpus": 0.1, "mem": 16}}\' '
                f"{base}:{marathon.port}/v2/apps",
                soft_wrap=True,
            )
        if marathon is None:
            await asyncio.Event().wait()
        else:
            error = await marathon.wait_fatal()
            console.print(f"[bold red]error:[/] marathon stopped: {error}")
    finally:
        console.print("stopping: killing tasks, closing servers")
        if marathon is not None:
            await marathon.stop()
        await agent.stop()
        await master.stop()
