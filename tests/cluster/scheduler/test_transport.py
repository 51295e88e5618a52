import pytest

from roost.cluster.scheduler.errors import CallRejected
from roost.cluster.scheduler.transport import describe, master_url, redirect_target


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("127.0.0.1:5050", "http://127.0.0.1:5050"),
        ("http://m1:5050/", "http://m1:5050"),
        ("https://m1:5050", "https://m1:5050"),
        ("//m1:5050", "http://m1:5050"),
        (" localhost:5050 ", "http://localhost:5050"),
    ],
)
def test_master_addresses_become_base_urls(given: str, url: str) -> None:
    assert master_url(given) == url


@pytest.mark.parametrize("bad", ["ftp://m1:21", "http://", "zk://zk1:2181/mesos"])
def test_unusable_master_addresses_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        master_url(bad)


def test_scheme_relative_redirects_keep_our_scheme_and_drop_the_path() -> None:
    assert redirect_target("//m2:5051/master/api/v1/scheduler", "http://m1:5050") == (
        "http://m2:5051"
    )
    assert redirect_target("//m2:5051", "https://m1:5050") == "https://m2:5051"
    assert redirect_target("http://m3:5050/x", "http://m1:5050") == "http://m3:5050"


def test_errors_always_say_what_happened() -> None:
    assert describe(TimeoutError()) == "TimeoutError"
    assert describe(OSError("boom")) == "OSError: boom"


def test_call_rejected_keeps_the_masters_message_and_retryability() -> None:
    e = CallRejected("ACCEPT", 400, "Failed to validate scheduler::Call: bad\n")
    assert e.status == 400 and not e.retryable
    assert str(e) == "master rejected ACCEPT with HTTP 400: Failed to validate scheduler::Call: bad"
    assert CallRejected("KILL", 503, "").retryable
