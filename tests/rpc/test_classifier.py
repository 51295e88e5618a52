"""Response classifiers: the default, Finagle's ServerErrorsAsFailures and Linkerd's by name."""

from __future__ import annotations

import pytest

from roost.rpc.classifier import (
    DEFAULT_HTTP_CLASSIFIER,
    HTTP_CLASSIFIERS,
    ResponseClass,
    default_classifier,
    http_classifier,
    server_errors_as_failures,
)
from roost.rpc.errors import (
    ChannelClosed,
    ConnectionFailed,
    DeadlineExceeded,
    Flags,
    Interrupted,
    Rejected,
    RequestTimeout,
    WriteFailed,
)
from roost.rpc.http.message import Headers, Request, Response

S = ResponseClass.SUCCESS
R = ResponseClass.RETRYABLE_FAILURE
N = ResponseClass.NON_RETRYABLE_FAILURE


def test_response_class_properties() -> None:
    assert S.is_success and not S.is_failure and not S.retryable
    assert R.is_failure and R.retryable and not R.is_success
    assert N.is_failure and not N.retryable
    ig = ResponseClass.IGNORABLE
    assert not ig.is_success and not ig.is_failure and not ig.retryable
    assert ResponseClass.failed(True) is R
    assert ResponseClass.failed(False) is N
    assert ResponseClass.failed() is N


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ("any response", S),
        (Response(status=500), S),
        (ConnectionFailed(), R),
        (WriteFailed(), R),
        (Rejected(), R),
        (ChannelClosed(), N),
        (RequestTimeout(), N),
        (Interrupted(), N),
        (DeadlineExceeded(), N),
        (ConnectionFailed(flags=Flags.RETRYABLE | Flags.NON_RETRYABLE), N),
        (ValueError("not an RpcError"), N),
    ],
)
def test_default_classifier_row(result: object, expected: ResponseClass) -> None:
    assert default_classifier(object(), result) is expected


@pytest.mark.parametrize(
    ("status", "expected"), [(200, S), (404, S), (499, S), (500, N), (503, N), (599, N), (600, S)]
)
def test_server_errors_as_failures_row(status: int, expected: ResponseClass) -> None:
    assert server_errors_as_failures(Request(), Response(status=status)) is expected


def test_server_errors_as_failures_classifies_exceptions_like_the_default() -> None:
    assert server_errors_as_failures(Request(), ConnectionFailed()) is R
    assert server_errors_as_failures(Request(), ChannelClosed()) is N


NR = "io.l5d.http.nonRetryable5XX"
READ = "io.l5d.http.retryableRead5XX"
IDEM = "io.l5d.http.retryableIdempotent5XX"
ALL = "io.l5d.http.retryableAll5XX"
OK = "io.l5d.http.allSuccessful"

# (classifier, method, status, expected)
STATUS_TABLE = [
    (NR, "GET", 200, S),
    (NR, "GET", 500, N),
    (NR, "POST", 503, N),
    (NR, "GET", 404, S),
    (READ, "GET", 503, R),
    (READ, "HEAD", 500, R),
    (READ, "OPTIONS", 502, R),
    (READ, "TRACE", 599, R),
    (READ, "get", 503, R),
    (READ, "PUT", 503, N),
    (READ, "DELETE", 503, N),
    (READ, "POST", 503, N),
    (READ, "PATCH", 503, N),
    (READ, "GET", 200, S),
    (READ, "GET", 429, S),
    (IDEM, "GET", 500, R),
    (IDEM, "HEAD", 500, R),
    (IDEM, "OPTIONS", 500, R),
    (IDEM, "TRACE", 500, R),
    (IDEM, "PUT", 500, R),
    (IDEM, "DELETE", 500, R),
    (IDEM, "POST", 500, N),
    (IDEM, "PATCH", 500, N),
    (IDEM, "PUT", 201, S),
    (ALL, "GET", 500, R),
    (ALL, "PUT", 500, R),
    (ALL, "POST", 500, R),
    (ALL, "PATCH", 502, R),
    (ALL, "POST", 400, S),
    (OK, "GET", 500, S),
    (OK, "POST", 503, S),
    (OK, "GET", 200, S),
]


@pytest.mark.parametrize(("kind", "method", "status", "expected"), STATUS_TABLE)
def test_linkerd_http_classifier_row(
    kind: str, method: str, status: int, expected: ResponseClass
) -> None:
    assert HTTP_CLASSIFIERS[kind](Request(method=method), Response(status=status)) is expected


# (classifier, method, exception, expected): a retryable RpcError (never sent) is retryable for
# every classifier and method; ChannelClosed only on the methods the classifier retries.
EXCEPTION_TABLE = [
    (NR, "POST", ConnectionFailed(), R),
    (NR, "GET", ChannelClosed(), N),
    (NR, "GET", RequestTimeout(), N),
    (READ, "POST", WriteFailed(), R),
    (READ, "GET", ChannelClosed(), R),
    (READ, "PUT", ChannelClosed(), N),
    (READ, "POST", ChannelClosed(), N),
    (READ, "GET", RequestTimeout(), N),
    (READ, "GET", Interrupted(), N),
    (READ, "GET", ChannelClosed(flags=Flags.NON_RETRYABLE), N),
    (READ, "GET", ChannelClosed(flags=Flags.INTERRUPTED), N),
    (IDEM, "DELETE", ChannelClosed(), R),
    (IDEM, "PUT", ChannelClosed(), R),
    (IDEM, "POST", ChannelClosed(), N),
    (IDEM, "PATCH", Rejected(), R),
    (ALL, "POST", ChannelClosed(), R),
    (ALL, "POST", RequestTimeout(), N),
    (OK, "GET", ConnectionFailed(), R),
    (OK, "GET", ChannelClosed(), N),
    (OK, "GET", RuntimeError("boom"), N),
]


@pytest.mark.parametrize(("kind", "method", "exc", "expected"), EXCEPTION_TABLE)
def test_linkerd_http_classifier_exception_row(
    kind: str, method: str, exc: Exception, expected: ResponseClass
) -> None:
    assert HTTP_CLASSIFIERS[kind](Request(method=method), exc) is expected


@pytest.mark.parametrize("kind", [NR, READ, IDEM, ALL, OK])
@pytest.mark.parametrize(("value", "status"), [("true", 502), ("TRUE ", 503), ("true", 200)])
def test_l5d_retryable_header_takes_precedence_over_every_linkerd_classifier(
    kind: str, value: str, status: int
) -> None:
    rep = Response(status=status, headers=Headers([("l5d-retryable", value)]))
    assert HTTP_CLASSIFIERS[kind](Request(method="POST"), rep) is R


def test_l5d_retryable_false_changes_nothing() -> None:
    rep = Response(status=502, headers=Headers([("l5d-retryable", "false")]))
    assert HTTP_CLASSIFIERS[NR](Request(), rep) is N


def test_classifiers_are_looked_up_by_linkerd_name() -> None:
    assert set(HTTP_CLASSIFIERS) == {NR, READ, IDEM, ALL, OK}
    assert DEFAULT_HTTP_CLASSIFIER == NR
    assert http_classifier(READ) is HTTP_CLASSIFIERS[READ]


def test_an_unknown_classifier_name_is_refused_with_the_known_names() -> None:
    with pytest.raises(
        ValueError,
        match=r"unknown HTTP response classifier 'io.l5d.http.nope'; known: io.l5d.http.allSuccessful, ",
    ):
        http_classifier("io.l5d.http.nope")
