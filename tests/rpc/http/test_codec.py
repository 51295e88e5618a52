"""Writing heads: what goes on the wire, and what is refused before it can."""

from __future__ import annotations

import pytest

from roost.rpc.http.address import format_address, parse_address
from roost.rpc.http.codec import is_chunked, plain_response, request_head, response_head
from roost.rpc.http.message import Headers


def test_a_request_head_lists_the_callers_headers_then_the_transports() -> None:
    head = request_head("GET", "/a?b=c", [("Accept", "*/*")], [("Host", "h:1")])
    assert head == b"GET /a?b=c HTTP/1.1\r\nAccept: */*\r\nHost: h:1\r\n\r\n"


@pytest.mark.parametrize(
    ("name", "value"),
    [("x-evil", "a\r\nInjected: yes"), ("x-evil", "a\nb"), ("bad name", "v"), ("x", "\x00")],
)
def test_header_injection_is_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        request_head("GET", "/", [(name, value)], [])
    with pytest.raises(ValueError):
        response_head(200, "", [(name, value)], [])


def test_a_request_line_with_spaces_or_line_breaks_is_refused() -> None:
    with pytest.raises(ValueError):
        request_head("GET", "/a b", [], [])
    with pytest.raises(ValueError):
        request_head("GET\r\n", "/", [], [])


def test_reason_phrases_follow_rfc_9110() -> None:
    assert response_head(414, "", [], []).startswith(b"HTTP/1.1 414 URI Too Long\r\n")
    assert plain_response(431, "x").startswith(b"HTTP/1.1 431 Request Header Fields Too Large")


def test_only_a_final_chunked_coding_makes_a_chunked_body() -> None:
    assert is_chunked(Headers([("Transfer-Encoding", "gzip, chunked")]))
    assert not is_chunked(Headers([("Transfer-Encoding", "chunked, gzip")]))
    assert not is_chunked(Headers())


def test_addresses_parse_from_text_and_tuples() -> None:
    assert parse_address("127.0.0.1:80") == ("127.0.0.1", 80)
    assert parse_address("[::1]:8080") == ("::1", 8080)
    assert parse_address(("localhost", 1)) == ("localhost", 1)
    assert format_address("::1", 80) == "[::1]:80"
    with pytest.raises(ValueError, match="not host:port"):
        parse_address("no-port")


def test_parsed_headers_decode_on_first_read_and_then_behave_as_any() -> None:
    raw = [(b"Content-Type", b"text/plain"), (b"X-Name", b"caf\xe9"), (b"x-name", b"two")]
    parsed = Headers.parsed(raw)
    assert isinstance(parsed, Headers)
    assert parsed.get("content-type") == "text/plain"
    assert parsed.get_all("X-NAME") == ["café", "two"]  # ISO-8859-1, as on the wire
    assert parsed == Headers(
        [("Content-Type", "text/plain"), ("X-Name", "café"), ("x-name", "two")]
    )
    parsed.set("x-name", "one")
    parsed.add("Via", "roost")
    assert parsed.items() == [("Content-Type", "text/plain"), ("x-name", "one"), ("Via", "roost")]
    assert len(Headers.parsed([])) == 0 and list(Headers.parsed([(b"a", b"b")])) == [("a", "b")]
    with pytest.raises(AttributeError):
        _ = Headers.parsed([]).nonexistent  # type: ignore[attr-defined]
