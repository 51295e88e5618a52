"""HTTP/1.1 requests and responses as plain values.

A body is either ``bytes`` (sent with ``Content-Length``) or an async iterator of chunks
(streamed: ``Transfer-Encoding: chunked`` unless the headers carry a ``Content-Length``).
Received bodies of unknown or large size arrive as a :class:`BodyStream`, so a proxy can
forward them without holding them whole. Header names keep their case on the wire and are
compared case-insensitively.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

Body = bytes | AsyncIterator[bytes]


class Headers:
    """An ordered multi-map with case-insensitive names.

    ``get`` is a dict lookup: the first value of each lower-cased name is indexed when first
    asked for and kept up to date by ``add``, ``set`` and ``remove`` (a request passes through
    many filters that each look for a header or two, most of them absent)."""

    __slots__ = ("_index", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = list(items)
        self._index: dict[str, str] | None = None

    @staticmethod
    def parsed(raw: Sequence[tuple[bytes, bytes]]) -> Headers:
        """Headers as a parser handed them over, decoded (ISO-8859-1) when first used: a
        service that never looks at them does not pay for it."""
        return _ParsedHeaders(raw)

    def get(self, name: str, default: str | None = None) -> str | None:
        index = self._index
        if index is None:
            index = self._index = {}
            for k, v in self._items:
                index.setdefault(k.lower(), v)
        return index.get(name.lower(), default)

    def get_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [v for k, v in self._items if k.lower() == lname]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: str) -> None:
        self.set(name, value)

    def set(self, name: str, value: str) -> None:
        """Replace every value of ``name`` with one."""
        lname = name.lower()
        items = self._items
        found = [i for i, (k, _) in enumerate(items) if k.lower() == lname]
        if len(found) == 1:
            items[found[0]] = (name, value)  # keeps its place: the common replace is cheap
        else:
            if found:
                self.remove(name)  # a new list: append to that one
            self._items.append((name, value))
        if self._index is not None:
            self._index[lname] = value

    def add(self, name: str, value: str) -> None:
        self._items.append((name, value))
        if self._index is not None:
            self._index.setdefault(name.lower(), value)

    def remove(self, name: str) -> None:
        lname = name.lower()
        if any(k.lower() == lname for k, _ in self._items):
            self._items = [(k, v) for k, v in self._items if k.lower() != lname]
            if self._index is not None:
                self._index.pop(lname, None)

    def replace_all(self, names: frozenset[str], items: Iterable[tuple[str, str]]) -> None:
        """Drop every header whose lower-cased name is in ``names``, then append ``items``:
        one pass however many headers change (trace propagation writes several)."""
        kept = [(k, v) for k, v in self._items if k.lower() not in names]
        kept.extend(items)
        self._items = kept
        self._index = None

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def copy(self) -> Headers:
        return Headers(self._items)

    __copy__ = copy  # copy.copy must not share the list or its index

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class _ParsedHeaders(Headers):
    __slots__ = ("_raw",)

    def __init__(self, raw: Sequence[tuple[bytes, bytes]]) -> None:
        self._raw = raw  # ``_items`` stays unset until first read
        self._index = None

    def __getattr__(self, name: str) -> list[tuple[str, str]]:
        # only called for an unset slot: the first read of ``_items``
        if name != "_items":
            raise AttributeError(name)
        items = self._items = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self._raw]
        self._raw = ()
        return items


@dataclass(slots=True)
class Request:
    method: str = "GET"
    target: str = "/"
    """The request target as sent: path and query (``/v2/apps?embed=apps.tasks``)."""
    headers: Headers = field(default_factory=Headers)
    body: Body = b""
    version: str = "1.1"

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    @property
    def host(self) -> str | None:
        return self.headers.get("host")

    @property
    def streamed(self) -> bool:
        """The body is a stream (a chunked request is never retried: it cannot be replayed)."""
        return not isinstance(self.body, bytes)


@dataclass(slots=True)
class Response:
    status: int = 200
    headers: Headers = field(default_factory=Headers)
    body: Body = b""
    reason: str = ""
    version: str = "1.1"

    @property
    def streamed(self) -> bool:
        return not isinstance(self.body, bytes)


async def read_body(body: Body, limit: int | None = None) -> bytes:
    """The whole body as bytes (draining a stream); ``limit`` bounds what is held."""
    if isinstance(body, bytes):
        return body
    parts: list[bytes] = []
    size = 0
    async for chunk in body:
        size += len(chunk)
        if limit is not None and size > limit:
            raise ValueError(f"body larger than {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)
