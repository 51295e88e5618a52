"""Serving a request in the callback that parsed it: :func:`start` and :func:`drive`.

A request usually arrives whole in one read, and most services answer it without waiting
for anything (a cached page, a routing decision whose connection is ready). Handing such a
request to a task costs a trip through the event loop's queue — on a busy keep-alive
connection, more than the rest of the server's work. So a connection whose task is idle
runs the service *eagerly*: :func:`start` steps the coroutine right away, as that task
(``asyncio.current_task()`` is the connection's task, so ``asyncio.timeout`` and task
groups work), in the request's own fresh ``contextvars.Context``. If the coroutine finishes
there, nothing was scheduled at all; if it suspends, the connection's task takes it over
with :func:`drive` from where it stopped — the steps Python 3.12's eager tasks take, done
here for 3.11.

:func:`drive` forwards what the task gets to the coroutine as the task itself would: the
future it waits on (a cancellation of the task cancels that future, and the coroutine sees
it), a bare ``yield`` (one trip around the loop), and anything thrown in.
"""

from __future__ import annotations

import asyncio
import contextvars
import types
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")

_enter_task = getattr(asyncio.tasks, "_enter_task", None)
_leave_task = getattr(asyncio.tasks, "_leave_task", None)


class Busy(Exception):
    """Another task is running (or this Python cannot step coroutines as a task): the
    coroutine was not started; run it in its task instead."""


class Suspended:
    """A coroutine started by :func:`start` that waits on ``yielded`` (a future or ``None``)."""

    __slots__ = ("context", "coro", "yielded")

    def __init__(
        self, coro: Coroutine[Any, Any, Any], context: contextvars.Context, yielded: Any
    ) -> None:
        self.coro = coro
        self.context = context
        self.yielded = yielded


def start(
    loop: asyncio.AbstractEventLoop,
    task: asyncio.Task[Any],
    coro: Coroutine[Any, Any, Any],
    context: contextvars.Context,
) -> Suspended | None:
    """Run ``coro`` as ``task`` (which must be waiting) until it finishes (``None``; its
    result is dropped, its exception raised) or suspends (a :class:`Suspended` for
    :func:`drive`). :class:`Busy`, with ``coro`` untouched, when some task is running."""
    if _enter_task is None or _leave_task is None:
        raise Busy("asyncio cannot enter a task here")
    try:
        _enter_task(loop, task)
    except RuntimeError:
        raise Busy("another task is running") from None
    try:
        yielded = context.run(coro.send, None)
    except StopIteration:
        return None
    finally:
        _leave_task(loop, task)
    return Suspended(coro, context, yielded)


def cancel(suspended: Suspended) -> None:
    """Cancel a coroutine :func:`start` left that no task took over (its task was cancelled
    first): ``CancelledError`` is thrown in where it waits, as a task's cancellation would;
    should it wait again, it is closed."""
    coro = suspended.coro
    try:
        suspended.context.run(coro.throw, asyncio.CancelledError())
    except BaseException:  # it ended: StopIteration, the CancelledError, or its own error
        return
    coro.close()


@types.coroutine
def drive(
    coro: Coroutine[Any, Any, T],
    context: contextvars.Context,
    suspended: Suspended | None = None,
    throw: BaseException | None = None,
) -> Generator[Any, None, T]:
    """Run ``coro`` to its end from the current task, each step in ``context``; from where
    :func:`start` left it when ``suspended`` is given (then ``coro`` is its coroutine).

    A generator-based coroutine: what ``coro`` yields goes to the task as is, and what the
    task sends or throws comes back to ``coro`` — no frame or object of ours in between."""
    run = context.run
    send = coro.send
    step: Any = send
    arg: Any = None
    if throw is not None:
        step, arg = coro.throw, throw
    elif suspended is not None:
        try:
            yield suspended.yielded
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # thrown into the task: the coroutine gets it
            step, arg = coro.throw, exc
    while True:
        try:
            yielded = run(step, arg)
        except StopIteration as stop:
            return stop.value
        try:
            yield yielded
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:
            step, arg = coro.throw, exc
        else:
            step, arg = send, None
