"""Name trees (Finagle ``NameTree``): what a dtab rewrites a path into.

* :class:`Leaf` — a value (a :class:`~roost.naming.path.Path` before binding, a bound name
  after);
* :class:`Alt` — ordered fail-over, ``a | b``: the first child that is not negative;
* :class:`Union` — ``a & b``, weighted (``0.3 * a & 0.7 * b``): traffic is split over all
  children that are not negative;
* :data:`NEG` ``~`` (no such name here), :data:`FAIL` ``!`` (stop: the name fails),
  :data:`EMPTY` ``$`` (the name exists and has no addresses).

The asymmetry matters: an Alt skips Neg, but stops at Fail and at Empty; a Union drops Neg
*and* Fail and keeps Empty (it contributes no address).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from roost.naming.path import Path

T = TypeVar("T", covariant=True)
U = TypeVar("U")

DEFAULT_WEIGHT = 1.0


class NameTree(ABC, Generic[T]):
    __slots__ = ()

    @staticmethod
    def read(text: str) -> NameTree[Path]:
        """Parse ``/a & /b | ~`` (``&`` binds tighter than ``|``; parentheses group)."""
        from roost.naming.parser import parse_tree

        return parse_tree(text)

    @property
    def show(self) -> str:
        """The parseable form; ``NameTree.read(t.show) == t``."""
        return _show(self, 0)

    @abstractmethod
    def map(self, f: Callable[[T], U]) -> NameTree[U]:
        """The same tree with every leaf value ``v`` replaced by ``f(v)``."""

    def simplified(self) -> NameTree[T]:
        """An evaluation-equivalent tree that is a fixpoint: no Neg children, single-child
        Alt/Union collapsed, an Alt cut after its first Fail."""
        return self

    def eval(self) -> frozenset[T] | None:
        """The set of leaf values this tree names, or ``None`` when it is negative or fails
        (``Empty`` evaluates to the empty set)."""
        return _eval(self)[1]

    def leaves(self) -> Iterator[T]:
        return iter(())

    def __str__(self) -> str:
        return self.show


class Leaf(NameTree[T]):
    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def map(self, f: Callable[[T], U]) -> NameTree[U]:
        return Leaf(f(self.value))

    def leaves(self) -> Iterator[T]:
        yield self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Leaf) and self.value == other.value

    def __hash__(self) -> int:
        return hash(("Leaf", self.value))

    def __repr__(self) -> str:
        return f"Leaf({self.value!r})"


class Alt(NameTree[T]):
    __slots__ = ("trees",)

    def __init__(self, *trees: NameTree[T]) -> None:
        self.trees: tuple[NameTree[T], ...] = trees

    def map(self, f: Callable[[T], U]) -> NameTree[U]:
        return Alt(*(t.map(f) for t in self.trees))

    def simplified(self) -> NameTree[T]:
        kept: list[NameTree[T]] = []
        for t in self.trees:
            s = t.simplified()
            if s is NEG:
                continue
            kept.append(s)
            if s is FAIL:
                break  # nothing after a Fail is ever tried
        if not kept:
            return neg()
        return kept[0] if len(kept) == 1 else Alt(*kept)

    def leaves(self) -> Iterator[T]:
        for t in self.trees:
            yield from t.leaves()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Alt) and self.trees == other.trees

    def __hash__(self) -> int:
        return hash(("Alt", self.trees))

    def __repr__(self) -> str:
        return f"Alt({', '.join(map(repr, self.trees))})"


class Weighted(Generic[T]):
    """A child of a :class:`Union` with its share of traffic."""

    __slots__ = ("tree", "weight")

    def __init__(self, weight: float, tree: NameTree[T]) -> None:
        self.weight = float(weight)
        self.tree = tree

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Weighted) and self.weight == other.weight and self.tree == other.tree
        )

    def __hash__(self) -> int:
        return hash((self.weight, self.tree))

    def __repr__(self) -> str:
        return f"Weighted({self.weight:g}, {self.tree!r})"


class Union(NameTree[T]):
    __slots__ = ("trees",)

    def __init__(self, *trees: Weighted[T] | NameTree[T]) -> None:
        self.trees: tuple[Weighted[T], ...] = tuple(
            t if isinstance(t, Weighted) else Weighted(DEFAULT_WEIGHT, t) for t in trees
        )

    def map(self, f: Callable[[T], U]) -> NameTree[U]:
        return Union(*(Weighted(w.weight, w.tree.map(f)) for w in self.trees))

    def simplified(self) -> NameTree[T]:
        kept: list[Weighted[T]] = []
        for w in self.trees:
            s = w.tree.simplified()
            if s is NEG or s is FAIL:
                continue
            kept.append(Weighted(w.weight, s))
        if not kept:
            return neg()
        return kept[0].tree if len(kept) == 1 else Union(*kept)

    def leaves(self) -> Iterator[T]:
        for w in self.trees:
            yield from w.tree.leaves()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Union) and self.trees == other.trees

    def __hash__(self) -> int:
        return hash(("Union", self.trees))

    def __repr__(self) -> str:
        return f"Union({', '.join(map(repr, self.trees))})"


class _Constant(NameTree[Any]):
    __slots__ = ("_name", "_symbol")

    def __init__(self, name: str, symbol: str) -> None:
        self._name = name
        self._symbol = symbol

    def map(self, f: Callable[[Any], U]) -> NameTree[U]:
        return self

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        return self._name.upper()  # pickles as the module constant: stays a singleton


NEG: NameTree[Any] = _Constant("Neg", "~")
"""``~``: this name does not exist here (an Alt goes on to its next child)."""
FAIL: NameTree[Any] = _Constant("Fail", "!")
"""``!``: the name fails; an Alt stops here."""
EMPTY: NameTree[Any] = _Constant("Empty", "$")
"""``$``: the name exists and has no addresses."""


def neg() -> NameTree[Any]:
    return NEG


# -- printing and evaluation -----------------------------------------------------------------


def _show_leaf(value: object) -> str:
    show = getattr(value, "show", None)
    return show if isinstance(show, str) else str(value)


def _show(tree: NameTree[Any], level: int) -> str:
    if isinstance(tree, Leaf):
        return _show_leaf(tree.value)
    if isinstance(tree, _Constant):
        return tree._symbol
    if isinstance(tree, Alt):
        if len(tree.trees) == 1:
            return _show(tree.trees[0], level)
        text = " | ".join(_show(t, level + 1) for t in tree.trees)
    elif isinstance(tree, Union):
        if len(tree.trees) == 1:
            return _show(tree.trees[0].tree, level)
        text = " & ".join(_show_weighted(w, level + 1) for w in tree.trees)
    else:
        raise TypeError(f"not a name tree: {tree!r}")
    return f"({text})" if level > 0 else text


def _show_weighted(w: Weighted[Any], level: int) -> str:
    body = _show(w.tree, level)
    return body if w.weight == DEFAULT_WEIGHT else f"{w.weight:.2f}*{body}"


def _eval(tree: NameTree[T]) -> tuple[NameTree[Any], frozenset[T] | None]:
    """``(NEG|FAIL, None)`` or ``(EMPTY, the set)`` — the constant says which way it went."""
    if isinstance(tree, Leaf):
        return EMPTY, frozenset((tree.value,))
    if tree is EMPTY:
        return EMPTY, frozenset()
    if tree is NEG or tree is FAIL:
        return tree, None
    if isinstance(tree, Alt):
        for t in tree.trees:
            kind, found = _eval(t)
            if kind is not NEG:
                return kind, found  # a set, or Fail: either ends the fail-over
        return NEG, None
    if isinstance(tree, Union):
        sets = [s for w in tree.trees if (s := _eval(w.tree)[1]) is not None]
        if not sets:
            return NEG, None
        return EMPTY, frozenset().union(*sets)
    raise TypeError(f"not a name tree: {tree!r}")
