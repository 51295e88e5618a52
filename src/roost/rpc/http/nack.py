"""NACKs over HTTP/1.1: failures as responses on the server, responses as failures on the
client (Finagle ``finagle-http`` ``HttpNackFilter``).

A server that refuses a request before doing any work answers **503** with the header
``finagle-http-nack: true``; when the refusal must not be retried anywhere (an expired
deadline, a shed request) the header is ``finagle-http-nonretryable-nack: true`` instead.
A client turns those back into :class:`~roost.rpc.errors.Rejected`, so the requeue filter
can send a retryable NACK to another endpoint. Any other failure of the service is a plain
**500** with a short body; the exception text stays in the server's log.
"""

from __future__ import annotations

from roost.rpc.errors import Flags, Rejected, RpcError
from roost.rpc.http.message import Headers, Response

NACK = "finagle-http-nack"
NONRETRYABLE_NACK = "finagle-http-nonretryable-nack"


def _text(status: int, text: str, extra: list[tuple[str, str]]) -> Response:
    headers = Headers([("Content-Type", "text/plain; charset=utf-8"), *extra])
    return Response(status, headers, (text + "\n").encode("utf-8"))


def error_response(exc: BaseException) -> Response:
    """The response for a service that raised ``exc``."""
    if isinstance(exc, RpcError) and exc.rejected:
        if exc.flags & Flags.NON_RETRYABLE:
            return _text(503, "Request rejected (not retryable)", [(NONRETRYABLE_NACK, "true")])
        return _text(503, "Request rejected", [(NACK, "true")])
    return _text(500, "Internal Server Error", [])


def nack_error(rep: Response, source: str = "") -> Rejected | None:
    """The :class:`Rejected` a NACK response stands for, or ``None`` for any other response."""
    if rep.status != 503:
        return None
    if NONRETRYABLE_NACK in rep.headers:
        return Rejected(
            "request rejected (non-retryable NACK)",
            flags=Flags.REJECTED | Flags.NON_RETRYABLE,
            source=source,
        )
    if NACK in rep.headers:
        return Rejected("request rejected (NACK)", source=source)
    return None
