"""The request context on HTTP/1.1 headers (Linkerd ``LinkerdHeaders.Ctx``).

A client writes the current deadline as ``l5d-ctx-deadline`` and the local dtab, when it
has one, as ``l5d-ctx-dtab``; a server restores them around the service call. A malformed
deadline is ignored (as upstream). The headers stay in the request the service sees, so a
proxy forwarding it as is keeps them.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from types import TracebackType

from roost.rpc.context import Deadline, current_deadline, deadline_scope, dtab_scope, local_dtab
from roost.rpc.http.message import Headers

DEADLINE_HEADER = "l5d-ctx-deadline"
DTAB_HEADER = "l5d-ctx-dtab"

_NOTHING = contextlib.nullcontext()


def outgoing_context() -> list[tuple[str, str]]:
    """The context headers a client request carries (replacing any it already has)."""
    out: list[tuple[str, str]] = []
    deadline = current_deadline()
    if deadline is not None:
        out.append((DEADLINE_HEADER, deadline.to_header()))
    dtab = local_dtab()
    if dtab:
        out.append((DTAB_HEADER, dtab))
    return out


class _Incoming:
    __slots__ = ("_deadline", "_dtab")

    def __init__(self, deadline: Deadline | None, dtab: str) -> None:
        self._deadline = deadline_scope(deadline, replace=True)
        self._dtab = dtab_scope(dtab)

    def __enter__(self) -> None:
        self._deadline.__enter__()
        self._dtab.__enter__()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._dtab.__exit__(exc_type, exc, tb)
        self._deadline.__exit__(exc_type, exc, tb)


def incoming_context(headers: Headers) -> AbstractContextManager[None]:
    """Run with the deadline and dtab a request carried (and nothing else)."""
    deadlines: list[str] = []
    dtabs: list[str] = []
    for name, value in headers:  # one pass for both names: this runs on every request
        lname = name.lower()
        if lname == DEADLINE_HEADER:
            deadlines.append(value)
        elif lname == DTAB_HEADER and value.strip():
            dtabs.append(value)
    deadline = Deadline.from_header(",".join(deadlines)) if deadlines else None
    dtab = ";".join(dtabs)
    if deadline is None and not dtab and current_deadline() is None and not local_dtab():
        return _NOTHING  # the context already holds exactly this: no scope to open
    return _Incoming(deadline, dtab)
