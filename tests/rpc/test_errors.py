"""Retryability is a flag; foreign errors are translated at the boundary."""

from __future__ import annotations

import errno

import pytest

from roost.rpc.errors import (
    ChannelClosed,
    ConnectionFailed,
    DeadlineExceeded,
    Flags,
    Interrupted,
    Rejected,
    RequestTimeout,
    RpcError,
    WriteFailed,
    translate,
)


def test_flags_decide_retryability() -> None:
    assert Rejected("nack").retryable and Rejected("nack").rejected
    assert not DeadlineExceeded("late").retryable
    assert not Interrupted().retryable
    assert not Rejected("nack").flagged(Flags.NON_RETRYABLE).retryable
    assert not ChannelClosed().retryable


@pytest.mark.parametrize(
    ("exc", "sent", "kind", "retryable"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), False, ConnectionFailed, True),
        (OSError(errno.EHOSTUNREACH, "unreachable"), True, ConnectionFailed, True),
        (TimeoutError(), False, ConnectionFailed, True),
        (TimeoutError(), True, RequestTimeout, False),
        (BrokenPipeError(errno.EPIPE, "pipe"), False, WriteFailed, True),
        (ConnectionResetError(errno.ECONNRESET, "reset"), True, ChannelClosed, False),
        (ValueError("odd"), True, RpcError, False),
    ],
)
def test_translate_maps_foreign_errors(
    exc: BaseException, sent: bool, kind: type[RpcError], retryable: bool
) -> None:
    out = translate(exc, sent=sent, source="127.0.0.1:1")
    assert type(out) is kind
    assert out.retryable is retryable
    assert str(out).endswith("(from 127.0.0.1:1)")


def test_an_rpc_error_passes_through_translate_unchanged() -> None:
    err = Rejected("busy")
    assert translate(err, sent=True) is err
