"""Response classifiers (Finagle ``ResponseClassifier``, Linkerd ``responseClassifier``).

A classifier is a function ``(req, rep_or_exception) -> ResponseClass``: is this outcome a
success, a failure (retryable or not), or to be ignored? Stats, failure accrual, retries and
the requeue filter's deposits all ask the same classifier, so a 500 counts as a failure for
all of them once the HTTP classifier says so.

Exceptions are failures, retryable only when nothing can have reached the application: an
:class:`~roost.rpc.errors.RpcError` whose ``retryable`` is true (never sent, or NACKed).
Linkerd's retrying HTTP classifiers also retry a :class:`~roost.rpc.errors.ChannelClosed`
(the connection died after the request went out) on the methods they already retry 5xx for:
a method declared safe to send twice is safe to send again when the answer was lost.

The Linkerd classifiers by name (``HTTP_CLASSIFIERS``); a response carrying
``l5d-retryable: true`` (a Linkerd error for a request that never reached the server) is a
retryable failure under all of them, as upstream ("the header takes precedence"):

==================================  ==========================================
``io.l5d.http.nonRetryable5XX``     5xx: failure, never retried (the default)
``io.l5d.http.retryableRead5XX``    5xx retryable on GET, HEAD, OPTIONS, TRACE
``io.l5d.http.retryableIdempotent5XX``  … and on PUT, DELETE
``io.l5d.http.retryableAll5XX``     5xx retryable on every method
``io.l5d.http.allSuccessful``       every response is a success
==================================  ==========================================
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from roost.rpc.errors import ChannelClosed, Flags, RpcError

Req = TypeVar("Req")
Rep = TypeVar("Rep")


if TYPE_CHECKING:  # types only: the HTTP package imports this module
    from roost.rpc.http.message import Request, Response


class ResponseClass(enum.Enum):
    """Finagle's ``Successful`` / ``Failed(retryable)`` / ``Ignorable``."""

    SUCCESS = "success"
    RETRYABLE_FAILURE = "retryable_failure"
    NON_RETRYABLE_FAILURE = "non_retryable_failure"
    IGNORABLE = "ignorable"
    """Neither success nor failure (e.g. a cancelled request): left out of stats and accrual."""

    @staticmethod
    def failed(retryable: bool = False) -> ResponseClass:
        return ResponseClass.RETRYABLE_FAILURE if retryable else ResponseClass.NON_RETRYABLE_FAILURE

    @property
    def is_success(self) -> bool:
        return self is ResponseClass.SUCCESS

    @property
    def is_failure(self) -> bool:
        return self in (ResponseClass.RETRYABLE_FAILURE, ResponseClass.NON_RETRYABLE_FAILURE)

    @property
    def retryable(self) -> bool:
        return self is ResponseClass.RETRYABLE_FAILURE


ResponseClassifier = Callable[[Req, Rep | BaseException], ResponseClass]
"""``classifier(req, rep_or_exception)``; use as ``ResponseClassifier[Request, Response]``."""


def default_classifier(req: object, result: object) -> ResponseClass:
    """A returned response is a success; an exception is a failure, retryable iff it is a
    retryable :class:`RpcError`."""
    if isinstance(result, BaseException):
        return ResponseClass.failed(isinstance(result, RpcError) and result.retryable)
    return ResponseClass.SUCCESS


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
IDEMPOTENT_METHODS = READ_METHODS | {"PUT", "DELETE"}


def _is_5xx(rep: Response) -> bool:
    return 500 <= rep.status <= 599


def _l5d_retryable(rep: Response) -> bool:
    value = rep.headers.get("l5d-retryable")
    return value is not None and value.strip().lower() == "true"


def server_errors_as_failures(req: Request, result: Response | BaseException) -> ResponseClass:
    """Finagle ``HttpResponseClassifier.ServerErrorsAsFailures``: 5xx is a non-retryable
    failure, other responses succeed, exceptions as :func:`default_classifier`."""
    if isinstance(result, BaseException):
        return default_classifier(req, result)
    return ResponseClass.NON_RETRYABLE_FAILURE if _is_5xx(result) else ResponseClass.SUCCESS


def _linkerd(
    retry_methods: frozenset[str] | None, *, all_successful: bool = False
) -> Callable[[Request, Response | BaseException], ResponseClass]:
    """A Linkerd HTTP classifier; ``retry_methods`` None means every method."""

    def retries(method: str) -> bool:
        return retry_methods is None or method.upper() in retry_methods

    def classify(req: Request, result: Response | BaseException) -> ResponseClass:
        if isinstance(result, BaseException):
            if (
                isinstance(result, ChannelClosed)
                and not result.flags & (Flags.NON_RETRYABLE | Flags.INTERRUPTED)
                and retries(req.method)
            ):
                return ResponseClass.RETRYABLE_FAILURE
            return default_classifier(req, result)
        if _l5d_retryable(result):
            return ResponseClass.RETRYABLE_FAILURE
        if all_successful or not _is_5xx(result):
            return ResponseClass.SUCCESS
        return ResponseClass.failed(retries(req.method))

    return classify


non_retryable_5xx = _linkerd(frozenset())
retryable_read_5xx = _linkerd(READ_METHODS)
retryable_idempotent_5xx = _linkerd(IDEMPOTENT_METHODS)
retryable_all_5xx = _linkerd(None)
all_successful = _linkerd(frozenset(), all_successful=True)

HTTP_CLASSIFIERS: dict[str, ResponseClassifier[Request, Response]] = {
    "io.l5d.http.nonRetryable5XX": non_retryable_5xx,
    "io.l5d.http.retryableRead5XX": retryable_read_5xx,
    "io.l5d.http.retryableIdempotent5XX": retryable_idempotent_5xx,
    "io.l5d.http.retryableAll5XX": retryable_all_5xx,
    "io.l5d.http.allSuccessful": all_successful,
}
"""Linkerd's HTTP ``responseClassifier`` kinds; the default is ``nonRetryable5XX``."""

DEFAULT_HTTP_CLASSIFIER = "io.l5d.http.nonRetryable5XX"


def http_classifier(kind: str) -> ResponseClassifier[Request, Response]:
    """The classifier configured as ``responseClassifier: {kind: ...}``."""
    try:
        return HTTP_CLASSIFIERS[kind]
    except KeyError:
        known = ", ".join(sorted(HTTP_CLASSIFIERS))
        raise ValueError(f"unknown HTTP response classifier {kind!r}; known: {known}") from None
