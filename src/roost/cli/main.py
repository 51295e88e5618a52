"""The ``roost`` command line."""

from __future__ import annotations

import typer

from roost import MESOS_COMPAT_VERSION, __version__
from roost.cli.agent_cmd import agent_command
from roost.cli.dtab_cmd import app as dtab_app
from roost.cli.marathon_cmd import marathon_command
from roost.cli.master_cmd import master_command
from roost.cli.mesh_cmd import mesh_command
from roost.cli.namerd_cmd import namerd_command
from roost.cli.run_task_cmd import run_task_command
from roost.cli.up import up_command

app = typer.Typer(
    name="roost",
    help="roost: a cluster platform for Python teams (Mesos-style master and agents, and more).",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """roost: a cluster platform for Python teams."""


@app.command()
def version() -> None:
    """Print roost's version and the Mesos API version it speaks."""
    typer.echo(f"roost {__version__} (Mesos API {MESOS_COMPAT_VERSION})")


app.command("up")(up_command)
app.command("master")(master_command)
app.command("agent")(agent_command)
app.command("run-task")(run_task_command)
app.command("marathon")(marathon_command)
app.command("mesh")(mesh_command)
app.command("namerd")(namerd_command)
app.add_typer(dtab_app, name="dtab")


def main() -> None:
    app()
