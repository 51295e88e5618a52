"""Traffic split over a bound tree (Finagle ``NameTreeFactory`` with ``Drv``): each request
picks one leaf, a Union choosing among its children by weight.

* weights are normalised by their sum; when every weight is 0 the choice is uniform;
* a child that is ``~``, ``!`` or ``$`` with weight 0 is dropped; with a weight above 0 it
  keeps its share, and requests that land there find no endpoint (``None``: the caller
  answers NoBrokersAvailable) — so ``9 * /svc/new & 1 * $`` sheds a tenth of the traffic;
* nested unions multiply (a choice per level).

The choice is O(1) per request (Vose's alias method).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Generic, TypeVar

from roost.naming.tree import Alt, Leaf, NameTree, Union

T = TypeVar("T")


class Drv:
    """Draws index ``i`` with probability ``weights[i] / sum(weights)`` (uniform if the sum
    is 0), in constant time: Vose's alias method."""

    def __init__(self, weights: Sequence[float], rng: random.Random | None = None) -> None:
        n = len(weights)
        if n == 0:
            raise ValueError("Drv needs at least one weight")
        if any(not (w >= 0) or w == float("inf") for w in weights):
            raise ValueError(f"weights must be finite and >= 0: {list(weights)}")
        total = sum(weights)
        probs = [w * n / total for w in weights] if total > 0 else [1.0] * n
        self._rng = rng or random.Random()
        self._prob = [0.0] * n
        self._alias = [0] * n
        small = [i for i, p in enumerate(probs) if p < 1.0]
        large = [i for i, p in enumerate(probs) if p >= 1.0]
        while small and large:
            s, g = small.pop(), large.pop()
            self._prob[s], self._alias[s] = probs[s], g
            probs[g] = probs[g] + probs[s] - 1.0
            (small if probs[g] < 1.0 else large).append(g)
        for i in small + large:  # what is left is 1 up to rounding
            self._prob[i] = 1.0

    def __call__(self) -> int:
        i = self._rng.randrange(len(self._prob))
        return i if self._rng.random() < self._prob[i] else self._alias[i]


class Splitter(Generic[T]):
    """``pick()`` one leaf value of a bound tree (or ``None``: a share with no endpoint)."""

    def __init__(self, tree: NameTree[T], rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._root = self._build(tree)

    def _build(self, tree: NameTree[T]) -> _Choice[T]:
        if isinstance(tree, Leaf):
            return _Choice(value=tree.value)
        if isinstance(tree, Union):
            kids = [(w.weight, w.tree) for w in tree.trees]
            # a zero-weight branch that cannot answer takes no share at all
            kids = [(w, t) for w, t in kids if w > 0 or isinstance(t, Leaf | Union)]
            if not kids:
                return _Choice()
            choices = [self._build(t) for _, t in kids]
            return _Choice(children=choices, drv=Drv([w for w, _ in kids], self._rng))
        if isinstance(tree, Alt):
            raise ValueError("a bound tree has no Alt: bind before splitting")
        return _Choice()  # ~ ! $: nothing to send to

    def pick(self) -> T | None:
        node = self._root
        while node.children:
            assert node.drv is not None
            node = node.children[node.drv()]
        return node.value


class _Choice(Generic[T]):
    __slots__ = ("children", "drv", "value")

    def __init__(
        self,
        value: T | None = None,
        children: list[_Choice[T]] | None = None,
        drv: Drv | None = None,
    ) -> None:
        self.value = value
        self.children = children or []
        self.drv = drv
