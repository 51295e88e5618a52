"""What a router's server does around every request, as Linkerd's HTTP router does:

* ``Via``: the request and the response each get ``1.1 linkerd`` (``1.0 linkerd`` for an
  HTTP/1.0 request) appended to their ``Via`` header (Linkerd's ``ViaHeaderAppenderFilter``;
  roost writes Linkerd's token, so tools that read Linkerd's headers read roost's).
* Call depth: a request whose ``Via`` already lists more than ``maxCallDepth`` hops (1,000
  by default) is a proxy loop: 400, "Maximum number of calls (1000) has been exceeded.
  Please check for proxy loops." (``MaxCallDepthFilter``).
* ``clearContext`` (a server facing untrusted callers): every ``l5d-*`` header is dropped
  from the request, and from the response, and the router's own error answers (those with
  ``l5d-err``) go out with an empty body.
* Hop-by-hop headers of a backend's answer (``Connection`` and what it names,
  ``Keep-Alive``…) are dropped: they were about the router's connection to the backend.
* Classification: the router's per-name service marks each response with
  ``l5d-success-class`` (``1.0`` or ``0.0``, by its ``responseClassifier``); the server's
  stats believe that header (a value above 0 is a success), so ``rt/<router>/server/…`` and
  ``rt/<router>/service/…`` agree. The router's own error answers carry ``0.0``. Without
  the header a 5xx is a failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from roost.mesh.responses import ERR, Unroutable, error_response
from roost.rpc.classifier import ResponseClass, server_errors_as_failures
from roost.rpc.http import Headers, Request, Response
from roost.rpc.service import ServiceBase

VIA = "Via"
SUCCESS_CLASS = "l5d-success-class"
DEFAULT_MAX_CALL_DEPTH = 1000


class MaxCallDepthExceeded(Unroutable):
    def __init__(self, calls: int) -> None:
        super().__init__(
            f"Maximum number of calls ({calls}) has been exceeded. Please check for proxy loops."
        )


def via_token(version: str) -> str:
    return f"{version} linkerd"


def append_via(headers: Headers, token: str) -> None:
    """Add ``token`` as the last hop of ``headers``' ``Via`` (all its values become one)."""
    if VIA not in headers:  # the common case: one dict lookup
        headers.add(VIA, token)
    else:
        headers.set(VIA, ", ".join([*headers.get_all(VIA), token]))


def call_depth(headers: Headers) -> int:
    """The hops a request's ``Via`` lists (comma-separated, over all its values)."""
    return sum(value.count(",") + 1 for value in headers.get_all(VIA))


HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"})


def drop_hop_by_hop(headers: Headers) -> None:
    """Take a backend's hop-by-hop headers off its answer, and those its ``Connection``
    names (RFC 9110 §7.6.1): they were about the router's connection to it, not the
    client's (a backend's ``Connection: close`` must not close the client's connection)."""
    if not any(name in headers for name in HOP_BY_HOP):  # dict lookups: the common case
        return
    named = {t.strip().lower() for v in headers.get_all("connection") for t in v.split(",")}
    headers.replace_all(frozenset(HOP_BY_HOP | named), ())


def success_class(result: ResponseClass) -> str | None:
    if result.is_success:
        return "1.0"
    return "0.0" if result.is_failure else None


def server_classifier(req: Request, result: Response | BaseException) -> ResponseClass:
    """The server's stats classifier: a response's ``l5d-success-class`` if it has one."""
    if isinstance(result, Response):
        value = result.headers.get(SUCCESS_CLASS)
        if value is not None:
            try:
                success = float(value) > 0
            except ValueError:
                success = False
            return ResponseClass.SUCCESS if success else ResponseClass.NON_RETRYABLE_FAILURE
    return server_errors_as_failures(req, result)


def _strip_l5d(headers: Headers) -> None:
    drop = frozenset(k.lower() for k, _ in headers if k[:4].lower() == "l5d-")
    if drop:
        headers.replace_all(drop, ())


class RouterEdge(ServiceBase[Request, Response]):
    """The server side of a router: call depth, ``Via``, ``clearContext``, then ``router``."""

    def __init__(
        self,
        router: Callable[[Request], Awaitable[Response]],
        *,
        max_call_depth: int = DEFAULT_MAX_CALL_DEPTH,
        clear_context: bool = False,
    ) -> None:
        self.router = router
        self.max_call_depth = max_call_depth
        self.clear_context = clear_context

    async def __call__(self, req: Request) -> Response:
        headers = req.headers
        token = via_token(req.version)
        if VIA in headers and call_depth(headers) > self.max_call_depth:
            rep = error_response(MaxCallDepthExceeded(self.max_call_depth))
            rep.headers.add(SUCCESS_CLASS, "0.0")
        else:
            if self.clear_context:
                _strip_l5d(headers)
            append_via(headers, token)
            rep = await self.router(req)
        if self.clear_context:
            if ERR in rep.headers:
                rep.body = b""
            _strip_l5d(rep.headers)
        append_via(rep.headers, token)
        return rep
