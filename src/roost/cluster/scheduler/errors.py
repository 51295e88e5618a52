"""Errors raised by the scheduler driver.

::

    SchedulerError                 anything the driver reports; ``retryable`` says whether
    │                              the same call may succeed later
    ├── NotSubscribed              a call before SUBSCRIBED, after a disconnect or after stop()
    ├── MasterUnreachable          no HTTP answer from the master (connect/read failure, timeout)
    └── CallRejected               the master answered a call with a non-2xx status; ``status``
                                   and the master's plain-text ``message`` are kept

httpx exceptions and ``OSError`` never escape the driver: they become :class:`MasterUnreachable`.
"""

from __future__ import annotations


class SchedulerError(Exception):
    """Base class; ``retryable`` is a flag on the failure (Finagle ``FailureFlags``)."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class NotSubscribed(SchedulerError):
    def __init__(self, message: str = "the framework is not subscribed to the master") -> None:
        super().__init__(message, retryable=True)


class MasterUnreachable(SchedulerError):
    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class CallRejected(SchedulerError):
    """A non-2xx answer. 5xx and 503 are retryable; 4xx mean the call itself is wrong."""

    def __init__(self, call: str, status: int, message: str) -> None:
        text = message.strip() or "(no message)"
        super().__init__(
            f"master rejected {call} with HTTP {status}: {text}", retryable=status >= 500
        )
        self.call = call
        self.status = status
        self.master_message = text
