"""The one error hierarchy of ``roost.rpc``.

Retryability is a flag on the failure, not a class (Finagle ``FailureFlags``)::

    RpcError(flags)                     base; ``retryable`` = RETRYABLE and not NON_RETRYABLE/INTERRUPTED
    ├── ConnectionFailed   RETRYABLE    connect refused / timed out: the request never left
    ├── WriteFailed        RETRYABLE    the request could not be written: never reached the server
    ├── ChannelClosed                   the connection died after the request went out
    ├── ProtocolError                   the peer spoke malformed HTTP
    ├── RequestTimeout                  a per-attempt timeout (``IndividualRequestTimeoutException``)
    │   └── TotalTimeout                the whole call, retries included, ran out of time
    ├── DeadlineExceeded   REJECTED|NON_RETRYABLE   the propagated deadline had already passed
    ├── Rejected           REJECTED|RETRYABLE       a NACK: the server refused before doing work
    ├── TooManyWaiters     REJECTED|RETRYABLE       a pool's waiter queue is full
    ├── NoBrokersAvailable                          nothing to send to
    ├── ServiceClosed      RETRYABLE                the chosen session/endpoint was closed
    └── Interrupted        INTERRUPTED              the caller gave up (cancellation)

``OSError`` and ``TimeoutError`` never escape the library: :func:`translate` maps them at the
boundary (the transport), knowing whether the request was already written.

A caller giving up is asyncio's own ``CancelledError``, which the library lets through as is
(turning it into an exception would break ``asyncio.timeout`` and task cancellation): it
plays Finagle's *Interrupted* role everywhere — never requeued or retried, ignorable for
failure accrual. :class:`Interrupted` is for code that must report an interruption as a
value (a service answering for a request its client abandoned).
"""

from __future__ import annotations

import enum
import errno


class Flags(enum.IntFlag):
    NONE = 0
    RETRYABLE = 1
    """Safe to send again: the request did not reach the application."""
    REJECTED = 2
    """The server refused the request (a NACK) or the client shed it."""
    NON_RETRYABLE = 4
    """Never retry, whatever else is set (a requeue budget ran out, a non-retryable NACK)."""
    INTERRUPTED = 8
    """The caller cancelled; nobody is waiting for a retry."""


class RpcError(Exception):
    default_flags = Flags.NONE

    def __init__(self, message: str = "", *, flags: Flags | None = None, source: str = "") -> None:
        super().__init__(message or type(self).__name__)
        self.message = message or type(self).__name__
        self.flags = self.default_flags if flags is None else flags
        self.source = source
        """Which service or endpoint it came from (``"127.0.0.1:8080"``), when known."""

    @property
    def retryable(self) -> bool:
        return bool(self.flags & Flags.RETRYABLE) and not (
            self.flags & (Flags.NON_RETRYABLE | Flags.INTERRUPTED)
        )

    @property
    def rejected(self) -> bool:
        return bool(self.flags & Flags.REJECTED)

    def flagged(self, add: Flags) -> RpcError:
        """This error with ``add`` set (in place; returns self for ``raise e.flagged(...)``)."""
        self.flags |= add
        return self

    def __str__(self) -> str:
        return f"{self.message} (from {self.source})" if self.source else self.message


class ConnectionFailed(RpcError):
    default_flags = Flags.RETRYABLE


class WriteFailed(RpcError):
    default_flags = Flags.RETRYABLE


class ChannelClosed(RpcError):
    pass


class ProtocolError(RpcError):
    pass


class RequestTimeout(RpcError):
    pass


class TotalTimeout(RequestTimeout):
    pass


class DeadlineExceeded(RpcError):
    default_flags = Flags.REJECTED | Flags.NON_RETRYABLE


class Rejected(RpcError):
    default_flags = Flags.REJECTED | Flags.RETRYABLE


class TooManyWaiters(RpcError):
    default_flags = Flags.REJECTED | Flags.RETRYABLE


class NoBrokersAvailable(RpcError):
    pass


class ServiceClosed(RpcError):
    default_flags = Flags.RETRYABLE


class Interrupted(RpcError):
    default_flags = Flags.INTERRUPTED


_NEVER_SENT = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL}


def translate(exc: BaseException, *, sent: bool, source: str = "") -> RpcError:
    """Map a foreign exception to an :class:`RpcError`; ``sent`` says whether any byte of the
    request was written (a failure before that is retryable: the server never saw it)."""
    if isinstance(exc, RpcError):
        return exc
    if isinstance(exc, TimeoutError):
        if not sent:
            return ConnectionFailed(f"connect timed out: {exc}", source=source)
        return RequestTimeout(f"timed out: {exc}", source=source)
    if isinstance(exc, ConnectionRefusedError) or (
        isinstance(exc, OSError) and exc.errno in _NEVER_SENT
    ):
        return ConnectionFailed(f"connection failed: {exc}", source=source)
    if isinstance(exc, OSError):
        if not sent:
            return WriteFailed(f"write failed: {exc}", source=source)
        return ChannelClosed(f"connection lost: {exc}", source=source)
    return RpcError(f"{type(exc).__name__}: {exc}", source=source)
