"""Delegation tables (Finagle ``Dtab``, ``Dentry``): rewrite rules from path prefixes to name
trees, ``/svc => /#/io.l5d.fs``.

``dtab.lookup(path)`` tries every dentry whose prefix matches ``path`` — component by
component, ``*`` matching any one component — replaces the matched components by the
dentry's tree and appends the rest of the path (the residual). Later dentries win: the
matches are returned last-first as an :class:`~roost.naming.tree.Alt`, so when a later
rewrite turns out negative the earlier ones are the fallback. ``a + b`` concatenates (``b``
wins).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import overload

from roost.naming.path import Path, show_label
from roost.naming.tree import FAIL, NEG, Alt, NameTree

ANY = None
"""The ``*`` element of a prefix: matches any one path component."""


class Prefix:
    """A dentry's left side: labels and ``*`` wildcards (``None``)."""

    __slots__ = ("_plain", "elems")

    def __init__(self, elems: Iterable[bytes | None] = ()) -> None:
        self.elems: tuple[bytes | None, ...] = tuple(elems)
        for e in self.elems:
            if e is not ANY and (not isinstance(e, bytes) or not e):
                raise ValueError(f"a prefix element is a non-empty label or ANY, not {e!r}")
        self._plain = ANY not in self.elems

    @classmethod
    def read(cls, text: str) -> Prefix:
        from roost.naming.parser import parse_prefix

        return parse_prefix(text)

    @property
    def show(self) -> str:
        return "/" + "/".join("*" if e is ANY else show_label(e) for e in self.elems)

    def matches(self, path: Path) -> bool:
        mine, elems = self.elems, path.elems
        if len(mine) > len(elems):
            return False
        if self._plain:  # no wildcard: one tuple comparison, in C
            return elems[: len(mine)] == mine
        return all(e is ANY or e == x for e, x in zip(mine, elems, strict=False))

    def __len__(self) -> int:
        return len(self.elems)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Prefix) and self.elems == other.elems

    def __hash__(self) -> int:
        return hash(self.elems)

    def __repr__(self) -> str:
        return f"Prefix({self.show})"


class Dentry:
    """One rule: ``prefix => dst``."""

    __slots__ = ("dst", "prefix")

    def __init__(self, prefix: Prefix, dst: NameTree[Path]) -> None:
        self.prefix = prefix
        self.dst = dst

    @classmethod
    def read(cls, text: str) -> Dentry:
        from roost.naming.parser import parse_dentry

        return parse_dentry(text)

    @property
    def show(self) -> str:
        return f"{self.prefix.show}=>{self.dst.show}"

    def rewrite(self, path: Path) -> NameTree[Path] | None:
        """``dst`` with the residual of ``path`` appended to each leaf; ``None`` if the prefix
        does not match."""
        if not self.prefix.matches(path):
            return None
        residual = path.drop(len(self.prefix))
        return self.dst.map(lambda p: p + residual)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dentry) and (self.prefix, self.dst) == (other.prefix, other.dst)

    def __hash__(self) -> int:
        return hash((self.prefix, self.dst))

    def __repr__(self) -> str:
        return f"Dentry({self.show})"


class Dtab:
    """An immutable sequence of dentries."""

    __slots__ = ("_hash", "dentries")

    def __init__(self, dentries: Iterable[Dentry] = ()) -> None:
        self.dentries: tuple[Dentry, ...] = tuple(dentries)
        self._hash: int | None = None

    @classmethod
    def read(cls, text: str) -> Dtab:
        """Parse ``/a=>/b; /c=>/d`` (empty text and a trailing ``;`` are fine)."""
        from roost.naming.parser import parse_dtab

        return parse_dtab(text)

    @property
    def show(self) -> str:
        return ";".join(d.show for d in self.dentries)

    def lookup(self, path: Path) -> NameTree[Path]:
        """One rewrite step: ``Neg`` when no dentry matches, the one rewrite, or an Alt of
        every match, last dentry first."""
        found = [t for d in reversed(self.dentries) if (t := d.rewrite(path)) is not None]
        if not found:
            return NEG
        return found[0] if len(found) == 1 else Alt(*found)

    def __add__(self, other: Dtab) -> Dtab:
        if not isinstance(other, Dtab):
            return NotImplemented
        if not other.dentries:
            return self
        if not self.dentries:
            return other
        return Dtab(self.dentries + other.dentries)

    def __len__(self) -> int:
        return len(self.dentries)

    def __iter__(self) -> Iterator[Dentry]:
        return iter(self.dentries)

    @overload
    def __getitem__(self, i: int) -> Dentry: ...
    @overload
    def __getitem__(self, i: slice) -> Dtab: ...
    def __getitem__(self, i: int | slice) -> Dentry | Dtab:
        if isinstance(i, slice):
            return Dtab(self.dentries[i])
        return self.dentries[i]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dtab) and self.dentries == other.dentries

    def __hash__(self) -> int:
        if self._hash is None:  # a router hashes its dtab on every request
            self._hash = hash(self.dentries)
        return self._hash

    def __repr__(self) -> str:
        return f"Dtab({self.show})"

    def __str__(self) -> str:
        return self.show


EMPTY_DTAB = Dtab()
FAIL_DTAB = Dtab([Dentry(Prefix(), FAIL)])
"""``/=>!``: every lookup fails (Finagle ``Dtab.fail``)."""
