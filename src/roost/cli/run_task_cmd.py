"""The options of ``roost run-task``; the command itself (the scheduler driver, httpx) is
imported when it runs, not by every ``roost`` invocation (see :mod:`roost.cli.run_task`)."""

from __future__ import annotations

from typing import Annotated

import typer


def run_task_command(
    command: Annotated[
        list[str],
        typer.Argument(help="The command and its arguments, after '--'.", metavar="CMD"),
    ],
    master: Annotated[
        str, typer.Option(envvar="ROOST_MASTER", help="The master, host:port.")
    ] = "127.0.0.1:5050",
    cpus: Annotated[float, typer.Option(envvar="ROOST_CPUS", help="CPUs for the task.")] = 0.1,
    mem: Annotated[float, typer.Option(envvar="ROOST_MEM", help="Memory for the task, MB.")] = 32,
    name: Annotated[
        str | None, typer.Option(envvar="ROOST_NAME", help="Task name (default: the command).")
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(envvar="ROOST_TIMEOUT", help="Seconds to reach the master and get an offer."),
    ] = 60.0,
    env: Annotated[
        list[str] | None,
        typer.Option("--env", "-e", envvar="ROOST_ENV", help="K=V for the task; repeatable."),
    ] = None,
    shell: Annotated[
        bool,
        typer.Option(
            envvar="ROOST_SHELL", help="Run through /bin/sh -c (--no-shell: exec CMD directly)."
        ),
    ] = True,
) -> None:
    """Run one command task on the cluster and print its state changes as they happen.

    Example: roost run-task --master 127.0.0.1:5050 --cpus 0.1 --mem 32 -- echo hi
    """
    from roost.cli.run_task import run_task_main

    run_task_main(command, master, cpus, mem, name, timeout, env, shell)
