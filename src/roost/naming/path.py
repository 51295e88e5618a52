"""A :class:`Path`: a sequence of non-empty byte-string labels, ``/s/users/get`` (Finagle
``Path``). The empty path is ``/``.

Labels are bytes. A label made only of the showable characters ``0-9 A-Z a-z _ : . # $ % -``
prints as itself; any other label prints wholly as ``\\xhh`` escapes (lower-case hex), and
reads back from either form (``/\\x66\\x6f\\x6F`` is ``/foo``). ``*`` is not a label character:
it only appears in dentry prefixes (:class:`~roost.naming.dtab.Prefix`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import overload

SHOWABLE = frozenset(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_:.#$%-")
"""Bytes a label may show as themselves (Finagle ``Path.isShowable``)."""


def show_label(label: bytes) -> str:
    if all(b in SHOWABLE for b in label):
        return label.decode("ascii")
    return "".join(f"\\x{b:02x}" for b in label)


class Path:
    """An immutable, hashable sequence of labels. ``Path.read("/a/b")``, ``Path.of("a", "b")``;
    ``p + q`` concatenates; ``p[i]`` is a label (bytes), ``p[i:j]`` a path."""

    __slots__ = ("_hash", "_show", "elems")

    elems: tuple[bytes, ...]
    _hash: int
    _show: str | None

    def __init__(self, elems: Iterable[bytes] = ()) -> None:
        elems = tuple(elems)
        for e in elems:
            if not isinstance(e, bytes) or not e:
                raise ValueError(f"a path label is a non-empty bytes value, not {e!r}")
        object.__setattr__(self, "elems", elems)
        object.__setattr__(self, "_hash", hash(elems))
        object.__setattr__(self, "_show", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Path is immutable")

    @classmethod
    def _trusted(cls, elems: tuple[bytes, ...]) -> Path:
        """A path of labels already known to be valid (slices and sums of paths)."""
        p = object.__new__(cls)
        object.__setattr__(p, "elems", elems)
        object.__setattr__(p, "_hash", hash(elems))
        object.__setattr__(p, "_show", None)
        return p

    @classmethod
    def of(cls, *labels: str | bytes) -> Path:
        """``Path.of("s", "users")`` is ``/s/users`` (str labels are UTF-8 encoded)."""
        return cls(x.encode() if isinstance(x, str) else x for x in labels)

    @classmethod
    def read(cls, text: str) -> Path:
        """Parse ``/a/b`` (surrounding whitespace and ``#`` comments allowed); a
        :class:`~roost.naming.errors.NamingSyntaxError` names the offending character."""
        from roost.naming.parser import parse_path  # the parser builds paths

        return parse_path(text)

    @property
    def show(self) -> str:
        """The parseable form: ``/a/b``, ``/`` when empty (computed once)."""
        shown = self._show
        if shown is None:
            shown = "/" + "/".join(show_label(e) for e in self.elems)
            object.__setattr__(self, "_show", shown)
        return shown

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels as text (UTF-8, undecodable bytes replaced): for display and namers."""
        return tuple(e.decode("utf-8", "replace") for e in self.elems)

    def starts_with(self, prefix: Path) -> bool:
        n = len(prefix.elems)
        return n <= len(self.elems) and self.elems[:n] == prefix.elems

    def take(self, n: int) -> Path:
        return Path._trusted(self.elems[:n])

    def drop(self, n: int) -> Path:
        return Path._trusted(self.elems[n:])

    def __add__(self, other: Path) -> Path:
        if not isinstance(other, Path):
            return NotImplemented
        if not other.elems:
            return self
        if not self.elems:
            return other
        return Path._trusted(self.elems + other.elems)

    def __len__(self) -> int:
        return len(self.elems)

    def __bool__(self) -> bool:
        return True  # the empty path is a path, not a false value

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.elems)

    @overload
    def __getitem__(self, i: int) -> bytes: ...
    @overload
    def __getitem__(self, i: slice) -> Path: ...
    def __getitem__(self, i: int | slice) -> bytes | Path:
        if isinstance(i, slice):
            return Path._trusted(self.elems[i])
        return self.elems[i]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Path) and self.elems == other.elems

    def __hash__(self) -> int:
        return self._hash

    def __lt__(self, other: Path) -> bool:
        return self.elems < other.elems

    def __repr__(self) -> str:
        return f"Path({self.show})"

    def __str__(self) -> str:
        return self.show


EMPTY_PATH = Path()
