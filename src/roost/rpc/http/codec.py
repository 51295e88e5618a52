"""Bytes on the wire for HTTP/1.1 (RFC 9112): message heads, chunk framing, small replies.

Parsing is httptools' job; this module only writes. Header names and values are checked
before they are written (a CR or LF in a value would let a caller inject headers or a whole
response), and written as ISO-8859-1, the wire's historical charset.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from email.utils import formatdate
from http import HTTPStatus

from roost.rpc.http.message import Headers

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
# Python 3.11 still has some RFC 7231 phrases; RFC 9110 §15 renamed these.
_REASONS = {s.value: s.phrase for s in HTTPStatus} | {
    413: "Content Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
}

LAST_CHUNK = b"0\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

# Headers the transport writes itself from the body and the connection's state.
FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
BODY_FRAMING = frozenset({"content-length", "transfer-encoding"})


def reason(status: int) -> str:
    return _REASONS.get(status, "")


def has_token(value: str | None, token: str) -> bool:
    """Whether a comma-separated header value lists ``token`` (case-insensitive)."""
    if not value:
        return False
    return any(part.strip().lower() == token for part in value.split(","))


def is_chunked(headers: Headers) -> bool:
    """``Transfer-Encoding`` ends in ``chunked`` (RFC 9112 §6.3)."""
    if headers.get("transfer-encoding") is None:
        return False  # the common case, found in one scan
    codings = ",".join(headers.get_all("transfer-encoding"))
    return codings.rsplit(",", 1)[-1].strip().lower() == "chunked" if codings else False


def content_length(headers: Headers) -> int | None:
    return parse_content_length(headers.get("content-length"))


def parse_content_length(value: str | None) -> int | None:
    """A ``Content-Length`` value; ``None`` when absent, malformed or negative."""
    if value is None:
        return None
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n >= 0 else None


def _check(name: str, value: str) -> None:
    if not _TOKEN.match(name):
        raise ValueError(f"invalid header name {name!r}")
    if _BAD_VALUE.search(value):
        raise ValueError(f"invalid character in the value of header {name!r}")


_GOOD_NAMES: set[str] = set()
"""Header names already checked: a process uses a few dozen, on every message."""
_GOOD_NAMES_MAX = 4096
_GOOD_METHODS: set[str] = set()
_STATUS_LINES: dict[tuple[int, str], str] = {}
"""Status lines already checked and written, by status and reason phrase."""


def _lines(first: str, headers: Iterable[tuple[str, str]], extra: list[tuple[str, str]]) -> bytes:
    pairs = headers if isinstance(headers, list) else list(headers)
    parts = [first]
    good = _GOOD_NAMES
    suspect = False
    for name, value in pairs:
        if name not in good:
            if _TOKEN.match(name) is None:
                suspect = True
            elif len(good) < _GOOD_NAMES_MAX:
                good.add(name)
        parts.append(f"{name}: {value}\r\n")
    for name, value in extra:
        parts.append(f"{name}: {value}\r\n")
    parts.append("\r\n")
    text = "".join(parts)
    # Values are checked in the whole text at once: each line brings one CR and one LF, so
    # more of either (or a NUL) means some value holds one; only then look at each header.
    lines = len(parts)
    if suspect or text.count("\n") != lines or text.count("\r") != lines or "\x00" in text:
        for name, value in pairs:
            _check(name, value)
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise ValueError(f"header text is not ISO-8859-1: {exc}") from None


def request_head(
    method: str, target: str, headers: Iterable[tuple[str, str]], extra: list[tuple[str, str]]
) -> bytes:
    """``METHOD target HTTP/1.1`` and the headers; ``extra`` are the transport's own."""
    if method not in _GOOD_METHODS:
        if not _TOKEN.match(method):
            raise ValueError(f"invalid request line {method!r} {target!r}")
        if len(_GOOD_METHODS) < 64:
            _GOOD_METHODS.add(method)
    if not target or " " in target or _BAD_VALUE.search(target):
        raise ValueError(f"invalid request line {method!r} {target!r}")
    return _lines(f"{method} {target} HTTP/1.1\r\n", headers, extra)


def response_head(
    status: int,
    reason_phrase: str,
    headers: Iterable[tuple[str, str]],
    extra: list[tuple[str, str]],
) -> bytes:
    key = (status, reason_phrase)
    line = _STATUS_LINES.get(key)
    if line is None:
        if not 100 <= status <= 999:
            raise ValueError(f"invalid status {status}")
        if _BAD_VALUE.search(reason_phrase):
            raise ValueError("invalid reason phrase")
        line = f"HTTP/1.1 {status} {reason_phrase or reason(status)}\r\n"
        if len(_STATUS_LINES) < _GOOD_NAMES_MAX:
            _STATUS_LINES[key] = line
    return _lines(line, headers, extra)


def chunk_header(size: int) -> bytes:
    return b"%x\r\n" % size


_date_second = 0
_date_text = ""


def http_date() -> str:
    """The ``Date`` header value, formatted once a second."""
    global _date_second, _date_text
    now = int(time.time())
    if now != _date_second:
        _date_second = now
        _date_text = formatdate(now, usegmt=True)
    return _date_text


def plain_response(status: int, text: str, *, close: bool = True) -> bytes:
    """A complete short ``text/plain`` response (for errors found before any service ran)."""
    body = (text + "\n").encode("utf-8")
    extra = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Date", http_date()),
    ]
    if close:
        extra.append(("Connection", "close"))
    return response_head(status, "", (), extra) + body
