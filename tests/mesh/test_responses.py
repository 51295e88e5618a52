"""The router's error answers: status by failure, l5d-err encoding, l5d-retryable."""

from __future__ import annotations

from urllib.parse import unquote_plus

import pytest

from roost.mesh.responses import Unroutable, encode_err, error_response, no_hosts_message
from roost.naming import Dtab, Path
from roost.rpc.errors import (
    ConnectionFailed,
    DeadlineExceeded,
    NoBrokersAvailable,
    Rejected,
    RequestTimeout,
    RpcError,
    TotalTimeout,
    WriteFailed,
)


@pytest.mark.parametrize(
    ("error", "status", "retryable"),
    [
        (Unroutable("no name"), 400, False),
        (NoBrokersAvailable("none"), 502, False),
        (ConnectionFailed("refused"), 502, True),
        (WriteFailed("reset"), 502, True),
        (Rejected("nack"), 502, True),
        (RpcError("boom"), 502, False),
        (RuntimeError("bug"), 502, False),
        (RequestTimeout("slow"), 503, False),
        (TotalTimeout("slow"), 503, False),
        (DeadlineExceeded("late"), 503, False),
    ],
)
def test_status_and_retryable_by_failure(error: Exception, status: int, retryable: bool) -> None:
    rep = error_response(error)
    assert rep.status == status
    assert (rep.headers.get("l5d-retryable") == "true") is retryable
    assert unquote_plus(rep.headers["l5d-err"], encoding="latin-1") == str(error)
    assert rep.body == f"{error}\n".encode()


def test_the_no_hosts_message_explains_with_both_dtabs() -> None:
    base, local = Dtab.read("/svc=>/#/io.l5d.fs"), Dtab.read("/svc/web=>/$/nil")
    message = no_hosts_message(Path.read("/svc/web"), base, local)
    assert message == (
        "No hosts are available for /svc/web, Dtab.base=[/svc=>/#/io.l5d.fs], "
        "Dtab.local=[/svc/web=>/$/nil]. Remote Info: Not Available"
    )
    rep = error_response(NoBrokersAvailable(message))
    assert rep.status == 502 and rep.headers["l5d-err"].startswith("No+hosts+are+available")


def test_err_is_encoded_like_javas_url_encoder_and_cut_without_breaking_an_escape() -> None:
    assert encode_err("a b~c*d/é") == "a+b%7Ec*d%2F%E9"
    cut = encode_err("é" * 100, limit=10)
    assert cut == "%E9%E9%E9" and len(cut) <= 10
