"""The request context on HTTP/1.1 headers (Linkerd ``LinkerdHeaders.Ctx``).

A client writes the current deadline as ``l5d-ctx-deadline`` and the local dtab, when it
has one, as ``l5d-ctx-dtab``; a server restores them around the service call. A malformed
deadline is ignored (as upstream). The headers stay in the request the service sees, so a
proxy forwarding it as is keeps them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from roost.rpc.context import Deadline, current_deadline, deadline_scope, dtab_scope, local_dtab
from roost.rpc.http.message import Headers

DEADLINE_HEADER = "l5d-ctx-deadline"
DTAB_HEADER = "l5d-ctx-dtab"


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


@contextlib.contextmanager
def incoming_context(headers: Headers) -> Iterator[None]:
    """Run with the deadline and dtab a request carried (and nothing else)."""
    values = headers.get_all(DEADLINE_HEADER)
    deadline = Deadline.from_header(",".join(values)) if values else None
    dtab = ";".join(v for v in headers.get_all(DTAB_HEADER) if v.strip())
    with deadline_scope(deadline, replace=True), dtab_scope(dtab):
        yield
