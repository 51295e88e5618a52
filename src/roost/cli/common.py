"""Helpers shared by roost's commands: running a server until SIGINT/SIGTERM, errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Annotated, Any, NoReturn

import typer

from roost.core import logs

LogLevel = Annotated[
    str,
    typer.Option(
        envvar="ROOST_LOG_LEVEL",
        help="debug, info, warning or error. Logs are key=value lines on stderr.",
    ),
]


def say(message: str) -> None:
    """A line for the operator on stderr (where a server says it is listening)."""
    typer.echo(message, err=True)


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _loop_factory() -> Any:
    try:
        import uvloop

        return uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.new_event_loop


def run_async(
    main: Coroutine[Any, Any, None], log_level: str = "warning", use_uvloop: bool = True
) -> None:
    """Run ``main`` until it returns or SIGINT/SIGTERM arrives; then cancel it so its
    ``finally`` blocks shut things down cleanly (tasks killed, ports closed).

    Processes that spawn tasks run on the default loop: its subprocess support uses
    ``vfork``/``posix_spawn`` and launches several times faster than uvloop's fork path
    (measured in ``docs/benchmarks.md``)."""
    try:
        logs.setup(log_level)
    except ValueError as e:
        main.close()
        fail(str(e))

    async def runner() -> None:
        task = asyncio.ensure_future(main)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        factory = _loop_factory() if use_uvloop else asyncio.new_event_loop
        with asyncio.Runner(loop_factory=factory) as runner_ctx:
            runner_ctx.run(runner())
    except (OSError, ValueError) as e:
        fail(str(e))
    except Exception as e:  # a startup failure: say what it was, not a traceback
        logging.getLogger("roost").debug("fatal error", exc_info=True)
        fail(f"{type(e).__name__}: {e}")
    sys.exit(0)
