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
header fields, and starts afresh when full. Heads that rarely repeat (a cookie or a request
id per message, bodies of many lengths) would cost a lookup and a record each for nothing: a
cache that fills with few hits rests for a while (:class:`Heads`), so such traffic pays for
it on about one message in seventeen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

HEAD_LIMIT = 2048
"""The longest head remembered, in bytes."""
FIELD_LIMIT = 32
"""The most header fields a remembered head has (each is kept apart in its record)."""
REST = 16
"""How long a cache whose heads do not repeat rests, in messages per head it holds."""


class _Record(Protocol):
    @property
    def headers(self) -> Sequence[tuple[bytes, bytes]]: ...

    @property
    def length(self) -> int | None: ...


T = TypeVar("T", bound=_Record)


class Heads(dict[bytes, T], Generic[T]):
    """Records of heads by their bytes (from the status or request line through the blank
    line), found by :meth:`lookup`.

    When a cache's worth of new heads came with fewer than a hit for every four of them (a
    fifth of the messages: about where the lookups and records cost what the hits save),
    the heads are not repeating enough: the cache rests for ``REST`` times its size in
    messages (its owner counts ``resting`` down and neither looks up nor remembers
    meanwhile), then tries again."""

    __slots__ = ("hits", "limit", "resting")

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.hits = 0
        """Lookups that found their head with its whole message, since the cache last
        started afresh."""
        self.resting = 0
        """Messages still to pass before the cache is used again."""

    def lookup(self, data: bytes) -> tuple[bytes, T | None]:
        """The head ``data`` starts with (through its first blank line) and its record, if
        known; ``(b"", None)`` while the cache rests (one message less to rest)."""
        if self.resting:
            self.resting -= 1
            return b"", None
        head = data[: data.find(b"\r\n\r\n") + 4]
        known = self.get(head)
        if known is not None and len(head) + (known.length or 0) == len(data):
            self.hits += 1  # (a hit its caller can take: a parse saved)
        return head, known

    def remember(self, head: bytes, record: T) -> bool:
        """Keep ``record`` for ``head``; ``False``: not kept (too big, known already, or
        the cache starts resting)."""
        if len(head) > HEAD_LIMIT or len(record.headers) > FIELD_LIMIT or head in self:
            return False  # (a head known keeps its record: the same bytes say the same)
        if len(self) >= self.limit:
            hits, self.hits = self.hits, 0
            self.clear()
            if hits * 4 < self.limit:
                self.resting = self.limit * REST
                return False
        self[head] = record
        return True


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
        "kept",
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
        self.kept = False
        """It is in a cache (where it is shared, and its relayed head worth keeping)."""
        self.relays: dict[str | None, bytes] | None = None
        """The head as relayed to clients, by success mark (made once for a dated head)."""
