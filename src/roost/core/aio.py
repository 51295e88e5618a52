"""asyncio helpers that keep cancellation intact.

On Python 3.11, ``asyncio.wait_for(event.wait(), t)`` returns normally when the task is
cancelled in the same loop iteration as the event is set: the cancellation is swallowed. A
background loop that waits like that and is cancelled at shutdown can then wait forever,
with its canceller stuck in ``gather``. ``asyncio.timeout`` has no such race, so the waits
here use it."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait until ``event`` is set (True) or ``timeout`` seconds pass (False; ``None`` waits
    without limit). A cancellation always propagates."""
    if event.is_set():
        return True
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def cancel_quietly(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task and wait until it has finished (``None``: nothing to do)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def every(
    interval: float,
    step: Callable[[], Awaitable[object] | object],
    what: str,
    log: logging.Logger | None = None,
) -> None:
    """Run ``step`` (plain or async) every ``interval`` seconds until cancelled; a step that
    raises is logged as ``"<what> failed"`` and the loop goes on (a background refresher must
    outlive a surprise)."""
    while True:
        await asyncio.sleep(interval)
        try:
            result = step()
            if inspect.isawaitable(result):
                await result
        except Exception:
            (log or logging.getLogger("roost")).exception("%s failed", what)
