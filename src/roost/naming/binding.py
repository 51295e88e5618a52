"""Binding (Finagle ``Namer.bind``, ``DefaultInterpreter``; Linkerd's configured-namers
interpreter): rewrite a path with a dtab, again and again, until every leaf is a bound name.

* A path leaf is looked up in the dtab; when the dtab says ``~``, in the configured namers
  mounted at ``/#/<prefix>`` whose prefix matches, in configuration order, each ``~`` moving
  on to the next; then in the system namer (``/$/…``). What comes back is bound in turn, one
  level deeper; past ``max_depth`` (100) binding fails with
  :class:`~roost.naming.errors.MaxDepthExceeded`.
* An Alt binds its children in order and stops at the first that is not ``~`` (a ``!`` stops
  it as a failure; ``$`` and bound names end it too).
* A Union binds every child (concurrently); children that are ``~`` or ``!`` drop out and
  one that raised is ignored while another child bound; the weights are kept.

The result has no Alt nodes: a :class:`~roost.naming.name.BoundName`, a weighted Union of
them, or ``~``, ``!``, ``$``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from roost.naming.dtab import Dtab
from roost.naming.errors import MaxDepthExceeded
from roost.naming.name import BoundName
from roost.naming.namer import GLOBAL, Name, Namer
from roost.naming.path import Path
from roost.naming.tree import EMPTY, FAIL, NEG, Alt, Leaf, NameTree, Union, Weighted

DEFAULT_MAX_DEPTH = 100

Mounts = Sequence[tuple[Path, Namer]]
"""Configured namers with the prefixes they are mounted at (``/#/io.l5d.fs``), in order."""


def mount(prefix: str, namer: Namer) -> tuple[Path, Namer]:
    """``mount("io.l5d.fs", namer)``: the namer at ``/#/io.l5d.fs`` (a full ``/#/…`` path
    works too)."""
    path = Path.read(prefix) if prefix.startswith("/") else Path.of("#", *prefix.split("/"))
    return path, namer


class Interpreter:
    """Looks paths up in a dtab, then in configured namers, then in the system namer."""

    def __init__(
        self, dtab: Dtab, namers: Mounts = (), *, max_depth: int = DEFAULT_MAX_DEPTH
    ) -> None:
        if max_depth < 0:
            raise ValueError(f"max_depth must be at least 0, got {max_depth}")
        self.dtab = dtab
        self.namers = tuple(namers)
        self.max_depth = max_depth

    async def lookup(self, path: Path) -> NameTree[Name]:
        found: NameTree[Name] = self.dtab.lookup(path)  # covariant: paths are names
        if found is not NEG:
            return found
        for prefix, namer in self.namers:
            if path.starts_with(prefix):
                found = await namer.lookup(path.drop(len(prefix)))
                if found is not NEG:
                    return found
        return await GLOBAL.lookup(path)

    async def bind(self, path: Path) -> NameTree[BoundName]:
        return await self._bind(Leaf(path), 0)

    async def _bind(self, tree: NameTree[Name], depth: int) -> NameTree[BoundName]:
        if depth > self.max_depth:
            raise MaxDepthExceeded(self.max_depth)
        if isinstance(tree, Leaf):
            value = tree.value
            if isinstance(value, BoundName):
                return Leaf(value)
            return await self._bind(await self.lookup(value), depth + 1)
        if isinstance(tree, Alt):
            for child in tree.trees:
                bound = await self._bind(child, depth)
                if bound is not NEG:
                    return bound  # a bound tree, $ or !: the fail-over ends here
            return NEG
        if isinstance(tree, Union):
            if len(tree.trees) == 1:
                return await self._bind(tree.trees[0].tree, depth)
            results = await asyncio.gather(
                *(self._bind(w.tree, depth) for w in tree.trees), return_exceptions=True
            )
            oks: list[Weighted[BoundName]] = []
            error: BaseException | None = None
            for w, r in zip(tree.trees, results, strict=True):
                if isinstance(r, BaseException):
                    if not isinstance(r, Exception):
                        raise r  # a cancellation, not a failed branch
                    error = error or r
                else:
                    oks.append(Weighted(w.weight, r))
            if not oks:
                assert error is not None
                raise error
            return Union(*oks).simplified()
        for constant in (NEG, FAIL, EMPTY):
            if tree is constant:
                return constant
        raise TypeError(f"not a name tree: {tree!r}")


async def bind(
    dtab: Dtab,
    path: Path,
    *,
    namers: Mounts = (),
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> NameTree[BoundName]:
    """Bind ``path`` with ``dtab`` and ``namers`` (see the module docstring)."""
    return await Interpreter(dtab, namers, max_depth=max_depth).bind(path)
