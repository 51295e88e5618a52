"""Delegation — "explain" (Linkerd's ``DelegateTree``, ``/delegator.json``): the whole story of
how a path binds, every rewrite with the dentry that made it and every branch of every Alt
and Union, including the ones binding would not take. Used by the admin dtab playground and
namerd's ``/api/1/delegate``.

A node is a :class:`Node`: ``type`` (``delegate``, ``alt``, ``union``, ``leaf``, ``neg``,
``fail``, ``empty``, ``exception``), the path it is about, the dentry that produced that path
(none at the root), and its children or its bound name or its error message.
:meth:`Node.to_json` gives Linkerd's JSON, key for key::

    {"type":"delegate","path":"/meh","delegate":
      {"type":"neg","path":"/heh","dentry":{"prefix":"/meh","dst":"/heh"}}}

Two rules keep the tree readable, as upstream: a delegation whose result is about the same
path is collapsed into the result (keeping the delegation's dentry), and an Alt about the same
path as its parent Alt is flattened into it. Negative results are never collapsed.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

from roost.naming.addr import NEG as ADDR_NEG
from roost.naming.addr import Addr, Address, Bound, Failed
from roost.naming.binding import DEFAULT_MAX_DEPTH, Interpreter, Mounts
from roost.naming.dtab import Dentry, Dtab
from roost.naming.name import BoundName
from roost.naming.namer import GLOBAL, Name
from roost.naming.path import Path
from roost.naming.tree import EMPTY, FAIL, NEG, Alt, Leaf, NameTree, Union

MAX_DEPTH_MESSAGE = "Max recursion level reached."


@dataclass
class Node:
    type: str
    path: Path | None
    """``None`` for an explicit ``~`` in a dentry (shown as ``"~"``)."""
    dentry: Dentry | None = None
    children: list[Node] = field(default_factory=list)
    """One for ``delegate``, several for ``alt``; ``union`` pairs them with ``weights``."""
    weights: list[float] = field(default_factory=list)
    bound: BoundName | None = None
    message: str = ""

    def with_dentry(self, dentry: Dentry | None) -> Node:
        self.dentry = dentry
        return self

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "path": _show(self.path)}
        if self.dentry is not None:
            out["dentry"] = {"prefix": self.dentry.prefix.show, "dst": self.dentry.dst.show}
        if self.type == "delegate":
            out["delegate"] = self.children[0].to_json()
        elif self.type == "alt":
            out["alt"] = [c.to_json() for c in self.children]
        elif self.type == "union":
            out["union"] = [
                {"weight": w, "tree": c.to_json()}
                for w, c in zip(self.weights, self.children, strict=True)
            ]
        elif self.type == "leaf":
            assert self.bound is not None
            out["bound"] = bound_json(self.bound)
        elif self.type == "exception":
            out["message"] = self.message
        return out


def _show(path: Path | None) -> str:
    return "~" if path is None else path.show


def _ip(host: str) -> str:
    try:  # 127.1 is 127.0.0.1, as the JVM resolves it
        return socket.inet_ntoa(socket.inet_aton(host)) if host[:1].isdigit() else host
    except OSError:
        return host


def address_json(a: Address) -> dict[str, Any]:
    return {"ip": _ip(a.host), "port": a.port, "meta": dict(a.meta)}


def addr_json(addr: Addr) -> dict[str, Any]:
    if isinstance(addr, Bound):
        addrs = sorted(addr.addresses, key=lambda a: (a.host, a.port))
        return {"type": "bound", "addrs": [address_json(a) for a in addrs], "meta": addr.meta}
    if isinstance(addr, Failed):
        return {"type": "failed", "cause": addr.error}
    return {"type": "neg" if addr is ADDR_NEG else "pending"}


def bound_json(name: BoundName) -> dict[str, Any]:
    return {"addr": addr_json(name.addr.value), "id": name.id.show, "path": name.residual.show}


class Delegator:
    """Explains bindings with the same lookups as :class:`~roost.naming.binding.Interpreter`."""

    def __init__(
        self, dtab: Dtab, namers: Mounts = (), *, max_depth: int = DEFAULT_MAX_DEPTH
    ) -> None:
        self.interpreter = Interpreter(dtab, namers, max_depth=max_depth)
        self.dtab = dtab
        self.max_depth = max_depth

    async def delegate(self, path: Path) -> Node:
        return _simplify(await self._path(path, None, 0))

    async def _path(self, path: Path, dentry: Dentry | None, depth: int) -> Node:
        if depth > self.max_depth:
            return Node("exception", path, dentry, message=MAX_DEPTH_MESSAGE)
        matches = [
            (d, t) for d in reversed(self.dtab.dentries) if (t := d.rewrite(path)) is not None
        ]
        if matches:
            kids = [await self._tree(t, path, d, depth + 1) for d, t in matches]
            child = kids[0] if len(kids) == 1 else Node("alt", path, dentry, kids)
            return Node("delegate", path, dentry, [child])
        try:
            found = await self._namers(path)
        except Exception as exc:  # a namer that fails is part of the explanation
            return Node("exception", path, dentry, message=str(exc))
        for constant, kind in ((NEG, "neg"), (FAIL, "fail"), (EMPTY, "empty")):
            if found is constant:
                return Node(kind, path, dentry)
        if isinstance(found, Leaf) and isinstance(found.value, BoundName):
            return Node("leaf", path, dentry, bound=found.value)
        return Node("delegate", path, dentry, [await self._tree(found, path, dentry, depth + 1)])

    async def _namers(self, path: Path) -> NameTree[Name]:
        for prefix, namer in self.interpreter.namers:
            if path.starts_with(prefix):
                found = await namer.lookup(path.drop(len(prefix)))
                if found is not NEG:
                    return found
        return await GLOBAL.lookup(path)

    async def _tree(
        self, tree: NameTree[Name], path: Path, dentry: Dentry | None, depth: int
    ) -> Node:
        """A dentry's (or namer's) rewrite of ``path``: every leaf path is delegated on."""
        if isinstance(tree, Leaf):
            value = tree.value
            if isinstance(value, BoundName):
                return Node("leaf", path, dentry, bound=value)
            return await self._path(value, dentry, depth)
        if isinstance(tree, Alt):
            kids = [await self._tree(t, path, dentry, depth) for t in tree.trees]
            return Node("alt", path, dentry, kids)
        if isinstance(tree, Union):
            kids = [await self._tree(w.tree, path, dentry, depth) for w in tree.trees]
            return Node("union", path, dentry, kids, [w.weight for w in tree.trees])
        if tree is NEG:
            return Node("neg", None, dentry)
        return Node("fail" if tree is FAIL else "empty", path, dentry)


def _simplify(node: Node) -> Node:
    if node.type == "delegate":
        inner = _simplify(node.children[0])
        if inner.type not in ("neg", "fail", "empty") and inner.path == node.path:
            return inner.with_dentry(node.dentry)
        node.children = [inner]
        return node
    if node.type == "alt":
        if not node.children:
            return Node("neg", node.path, node.dentry)
        kids: list[Node] = []
        for child in node.children:
            s = _simplify(child)
            if s.type == "alt" and s.path == node.path:
                kids.extend(s.children)
            else:
                kids.append(s)
        node.children = kids
        return node
    if node.type == "union":
        node.children = [_simplify(c) for c in node.children]
    return node


async def delegate(
    dtab: Dtab, path: Path, *, namers: Mounts = (), max_depth: int = DEFAULT_MAX_DEPTH
) -> Node:
    """Explain how ``path`` binds under ``dtab`` (see the module docstring)."""
    return await Delegator(dtab, namers, max_depth=max_depth).delegate(path)
