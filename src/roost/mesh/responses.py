"""What the router answers when it cannot route (Linkerd's ``ErrorResponder``).

=============================================================  ======
the request has no name (unidentified), a bad dtab header,      400
too many hops
no hosts for the name (``NoBrokersAvailable``), a connection    502
failure, anything else
a timeout (per attempt or total) or a deadline that passed      503
=============================================================  ======

Every such answer carries ``l5d-err``: the message URL-encoded (ISO-8859-1, as Java's
``URLEncoder``), cut to fit a header; the body is the message as text. A failure known not to
have reached a server (a refused connection, a failed write, a NACK) also carries
``l5d-retryable: true``, so a router upstream may retry it.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from roost.naming import Dtab, Path
from roost.rpc.errors import (
    DeadlineExceeded,
    Flags,
    NoBrokersAvailable,
    RequestTimeout,
    RpcError,
)
from roost.rpc.http import Headers, Response

ERR = "l5d-err"
RETRYABLE = "l5d-retryable"
MAX_ERR_BYTES = 4096


class Unroutable(Exception):
    """A request the router refuses before sending it anywhere: answered 400."""


def no_hosts_message(name: Path, base: Dtab, local: Dtab) -> str:
    """Finagle's ``NoBrokersAvailableException`` text, dtabs included to explain it."""
    return (
        f"No hosts are available for {name.show}, Dtab.base=[{base.show}], "
        f"Dtab.local=[{local.show}]. Remote Info: Not Available"
    )


def encode_err(message: str, limit: int = MAX_ERR_BYTES) -> str:
    """``URLEncoder.encode(message, "ISO-8859-1")``, cut to ``limit`` bytes (never mid-escape)."""
    encoded = quote_plus(message, safe="*", encoding="latin-1", errors="replace").replace(
        "~", "%7E"
    )
    if len(encoded) <= limit:
        return encoded
    cut = encoded[:limit]
    pct = cut.rfind("%", max(0, limit - 2))
    return cut[:pct] if pct >= 0 else cut


def status_for(error: BaseException) -> int:
    if isinstance(error, Unroutable):
        return 400
    if isinstance(error, RequestTimeout | DeadlineExceeded | TimeoutError):
        return 503
    return 502


def error_response(error: BaseException, message: str | None = None) -> Response:
    """The router's answer for ``error`` (see the module docstring)."""
    text = message if message is not None else (str(error) or type(error).__name__)
    headers = Headers([(ERR, encode_err(text)), ("Content-Type", "text/plain")])
    if (
        isinstance(error, RpcError)
        and not isinstance(error, NoBrokersAvailable)
        and error.flags & Flags.RETRYABLE
        and not error.flags & (Flags.NON_RETRYABLE | Flags.INTERRUPTED)
    ):
        headers.add(RETRYABLE, "true")
    return Response(status_for(error), headers, (text + "\n").encode("utf-8", "replace"))
