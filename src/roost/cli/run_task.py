"""``roost run-task``: run one command on the cluster and follow it to the end.

A thin shell over :class:`roost.cluster.scheduler.oneshot.OneShotTask`: subscribe, launch on
the first offer that fits, print each state change as it happens, tear the framework down.
Exit codes: 0 when the task FINISHED, 1 otherwise, 2 when the master cannot be reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import uuid
from collections.abc import Coroutine, Iterator
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.text import Text

from roost.cli.run_task_cmd import run_task_command
from roost.cluster.scheduler import SchedulerDriver, SchedulerError
from roost.cluster.scheduler.calls import id_value
from roost.cluster.scheduler.oneshot import OneShotTask
from roost.core import logs

__all__ = ["run_task_command", "run_task_main"]

_GOOD = {"TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


class Reporter:
    """State changes on stdout; progress (a spinner on a TTY, plain lines otherwise) on stderr."""

    def __init__(self) -> None:
        self.out = Console(highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    @contextlib.contextmanager
    def waiting(self, text: str) -> Iterator[None]:
        if self.err.is_terminal:
            with self.err.status(text):
                yield
        else:
            self.err.print(text)
            yield

    def info(self, text: str) -> None:
        self.err.print(Text(text, style="dim"))

    def error(self, text: str) -> None:
        self.err.print(Text.assemble(("error: ", "bold red"), text))

    def status(self, status: dict[str, Any]) -> None:
        state = str(status.get("state", "?"))
        line = Text(f"{state:<15}", style="green" if state in _GOOD else "red")
        line.append(f" {id_value(status.get('task_id'))}")
        if status.get("message"):
            line.append(f"  {status['message']}", style="dim")
        self.out.print(line)


def _parse_env(items: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"'{item}' is not K=V", param_hint="--env")
        env[key] = value
    return env


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


async def _sandbox(offer: dict[str, Any], task_id: str) -> str | None:
    """The task's sandbox directory from the agent's ``/state`` (best effort)."""
    address = (offer.get("url") or {}).get("address") or {}
    host = address.get("ip") or offer.get("hostname")
    url = f"http://{host}:{address.get('port', 5051)}/state"
    try:
        async with httpx.AsyncClient(timeout=3.0, trust_env=False) as client:
            state = (await client.get(url)).json()
    except (httpx.HTTPError, ValueError):
        return None
    for fw in state.get("frameworks", []) + state.get("completed_frameworks", []):
        for ex in fw.get("executors", []) + fw.get("completed_executors", []):
            tasks = ex.get("tasks", []) + ex.get("queued_tasks", []) + ex.get("completed_tasks", [])
            if ex.get("id") == task_id or any(t.get("id") == task_id for t in tasks):
                return str(ex.get("directory")) if ex.get("directory") else None
    return None


class _CliTask(OneShotTask):
    """The one-shot framework, telling the user when the master connection drops."""

    def __init__(self, ui: Reporter, **kwargs: Any) -> None:
        super().__init__(on_status=ui.status, **kwargs)
        self.ui = ui

    async def disconnected(self, driver: SchedulerDriver) -> None:
        self.ui.info(f"lost the master ({driver.last_error}); re-subscribing ...")

    async def subscribed(self, driver: SchedulerDriver, framework_id: str, info: Any) -> None:
        self.ui.info(f"subscribed as framework {framework_id}")


async def _report_sandbox(task: OneShotTask, ui: Reporter) -> None:
    assert task.offer is not None
    for _ in range(40):  # the agent knows the sandbox once the executor is launched
        if (path := await _sandbox(task.offer, task.task_id)) is not None:
            ui.out.print(Text(f"sandbox         {task.offer.get('hostname')}:{path}"))
            return
        await asyncio.sleep(0.25)


async def run_task(
    master: str, task: OneShotTask, ui: Reporter, wait_seconds: float, framework: str
) -> int:
    """Run ``task`` through a fresh framework; the exit code of ``roost run-task``."""
    info = {"name": framework, "failover_timeout": 60.0}
    driver = SchedulerDriver(master, info, task, reconnect_backoff=(0.5, 5.0))
    deadline = asyncio.get_running_loop().time() + wait_seconds
    await driver.start()
    try:
        try:
            with ui.waiting(f"Connecting to the master at {driver.master} ..."):
                async with asyncio.timeout_at(deadline):
                    await driver.wait_subscribed()
        except (TimeoutError, SchedulerError):
            why = driver.last_error or "no answer"
            ui.error(f"cannot reach the master at {driver.master} within {wait_seconds:g} s: {why}")
            return 2
        needs = ", ".join(f"{k} {v:g}" for k, v in task.resources.items())
        with contextlib.suppress(TimeoutError), ui.waiting(f"Waiting for an offer ({needs}) ..."):
            async with asyncio.timeout_at(deadline):
                await _first(task.launched, task.done)
        if task.offer is None:
            ui.error(task.error_message or f"no offer with {needs} within {wait_seconds:g} s")
            return 1
        ui.out.print(Text(f"launched        {task.task_id} on {task.offer.get('hostname')}"))
        sandbox = asyncio.create_task(_report_sandbox(task, ui))
        await task.done.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sandbox, 1.0)
        if task.error_message:
            ui.error(task.error_message)
        return 0 if task.succeeded else 1
    finally:
        await driver.stop()


def run_task_main(
    command: list[str],
    master: str,
    cpus: float,
    mem: float,
    name: str | None,
    timeout: float,
    env: list[str] | None,
    shell: bool,
) -> None:
    """What ``roost run-task`` does (:mod:`roost.cli.run_task_cmd` holds its options)."""
    if cpus <= 0 or mem <= 0:
        raise typer.BadParameter("--cpus and --mem must be positive")
    task_name = _UNSAFE.sub("-", name or command[0].rsplit("/", 1)[-1]).strip("-.") or "task"
    if not logging.getLogger().handlers:
        logs.setup("error")  # the driver's warnings are shown through the UI instead
    ui = Reporter()
    task = _CliTask(
        ui,
        task_id=f"{task_name}.{uuid.uuid4().hex[:12]}",
        name=task_name,
        command=command,
        resources={"cpus": cpus, "mem": mem},
        shell=shell,
        env=_parse_env(env or []),
    )
    try:
        code = asyncio.run(
            _until_signalled(run_task(master, task, ui, timeout, f"roost-run-task ({task_name})"))
        )
        if code is None:
            ui.error("terminated: the framework was torn down and its task killed")
            code = 143
    except KeyboardInterrupt:
        ui.error("interrupted: the framework was torn down and its task killed")
        code = 130
    except ValueError as e:  # a malformed --master
        ui.error(str(e))
        code = 2
    raise typer.Exit(code)


async def _until_signalled(main: Coroutine[Any, Any, int]) -> int | None:
    """Run ``main``; SIGTERM or SIGHUP cancel it like Ctrl-C does, so its cleanup (TEARDOWN,
    which kills the task) runs. Returns None when a signal ended it."""
    task = asyncio.ensure_future(main)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        return None
