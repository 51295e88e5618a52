"""Message heads the fast lane has read before, by their exact bytes (:class:`Heads`).

A backend answers the same head again and again (nginx: the same status, headers and length,
a new ``Date`` once a second), and a client's requests often repeat theirs too. What the lane
learns from a head — its status, framing, hop-by-hop and ``l5d-*`` headers, for a request its
method and ``Host`` — depends on nothing but its bytes, so a head seen before need not be
parsed again: its :class:`ResponseHead` or :class:`RequestHead` is looked up by the bytes (one
hash, one comparison), and a message whose length it gives and whose read holds it exactly
skips the parser. Records in a cache are never changed; a head that is new is parsed as
always, and remembered once it qualifies.

A cache holds at most ``limit`` heads of at most ``HEAD_LIMIT`` bytes and ``FIELD_LIMIT``
header fields, and starts afresh when full: heads that never repeat (a cookie per request, a request id) cost a lookup each and
stay out of the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

HEAD_LIMIT = 2048
"""The longest head remembered, in bytes."""
FIELD_LIMIT = 32
"""The most header fields a remembered head has (each is kept apart in its record)."""


class _Record(Protocol):
    @property
    def headers(self) -> Sequence[tuple[bytes, bytes]]: ...


T = TypeVar("T", bound=_Record)


class Heads(dict[bytes, T], Generic[T]):
    """Records of heads by their bytes (from the status or request line through the blank
    line); read with ``dict.get``."""

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, head: bytes, record: T) -> None:
        if len(head) > HEAD_LIMIT or len(record.headers) > FIELD_LIMIT:
            return
        if len(self) >= self.limit:
            self.clear()
        self[head] = record


class RequestHead:
    """What the lane needs of a request head it would proxy: one whole request with no body
    or a ``length``-byte one, nothing the full server must see to (:mod:`.conn`)."""

    __slots__ = ("headers", "host", "length", "method")

    def __init__(
        self, method: str, headers: tuple[tuple[bytes, bytes], ...], host: bytes | None, length: int
    ) -> None:
        self.method = method
        self.headers = headers
        self.host = host
        self.length = length


class ResponseHead:
    """What a response head says, as :class:`~roost.mesh.lane.upstream.Upstream` reads it
    (filled in by its parser callbacks; what it says never changes once it is in a cache,
    where it also keeps the head as relayed, made the first time)."""

    __slots__ = (
        "coded",
        "dated",
        "flagged",
        "framed",
        "headers",
        "hop",
        "keep",
        "length",
        "relays",
        "status",
        "until_close",
        "version",
    )

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.status = 0
        self.hop = 0
        """Its hop-by-hop headers (``Connection``…): 0 none, 2 only ``Connection:
        keep-alive``, 1 others (the head is rebuilt without them)."""
        self.dated = False
        self.framed = False
        """It has a ``Content-Length`` or ``Transfer-Encoding``."""
        self.coded = False
        """It has a ``Transfer-Encoding`` (which frames the body, whatever the length)."""
        self.flagged = False
        """It has an ``l5d-*`` header (``l5d-retryable``…): classify it fully."""
        self.length: int | None = None
        """The body's length when the head gives it (0 for 204 and 304)."""
        self.keep = True
        self.until_close = False
        """The body ends when the connection does."""
        self.version = "1.1"
        self.relays: dict[str | None, bytes] | None = None
        """The head as relayed to clients, by success mark (made once for a dated head)."""
