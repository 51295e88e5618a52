"""namerd's binding endpoints (Linkerd ``namerd/iface/control-http``'s ``bind``, ``addr``,
``resolve``, ``delegate`` and ``bound-names``).

A namespace's stored dtab (plus ``&dtab=``, the request's local dtab) is bound through the
configured namers, mounted at ``/#/<prefix>``, and the system namers (``/$/inet``, …), as
Linkerd's configured-namers interpreter does. ``addr`` binds its ``path`` — a bound id such
as ``/#/io.l5d.fs/web`` — with no dtab at all, straight through the namers.

``?watch=true`` on ``bind`` and ``addr`` streams one JSON line per distinct answer: bound
again at once when the namespace's dtab or an address behind the answer changes (namers push
address changes), and every ``recheck`` seconds for names that appear later. When binding
fails the message is written and the stream closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from roost.core.aio import cancel_quietly
from roost.core.http import json_response
from roost.namerd.dtabs import DtabStore, check_namespace
from roost.naming import BoundName, Dtab, Path, bind, delegate
from roost.naming.binding import Mounts
from roost.naming.delegate import addr_json, bound_json
from roost.naming.errors import NamingSyntaxError
from roost.naming.namers.config import enumerated_names
from roost.naming.split import Splitter
from roost.naming.tree import Leaf, NameTree, Union

Render = Callable[[NameTree[BoundName]], dict[str, Any]]


def tree_json(tree: NameTree[BoundName]) -> dict[str, Any]:
    """A bound tree as namerd's JSON: ``leaf`` (with its ``bound`` name), weighted
    ``union``, ``neg``, ``fail`` or ``empty``."""
    if isinstance(tree, Leaf):
        return {"type": "leaf", "bound": bound_json(tree.value)}
    if isinstance(tree, Union):
        return {
            "type": "union",
            "union": [{"weight": w.weight, "tree": tree_json(w.tree)} for w in tree.trees],
        }
    return {"type": {"~": "neg", "!": "fail", "$": "empty"}[tree.show]}


class BadQuery(ValueError):
    """A ``path`` or ``dtab`` query parameter that does not parse: 400 with this text."""


def _resolved(tree: NameTree[BoundName]) -> dict[str, Any]:
    picked = Splitter(tree).pick()
    return {"type": "neg"} if picked is None else addr_json(picked.addr.value)


def _watching(request: Request) -> bool:
    return request.query_params.get("watch", "").lower() == "true"


def _line(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


def _on_change(poke: asyncio.Event) -> Callable[[object], None]:
    """A ``Var`` observer that sets ``poke`` on each change, but not on the call ``observe``
    makes at once with the current value."""
    first = True

    def observer(_: object) -> None:
        nonlocal first
        if not first:
            poke.set()
        first = False

    return observer


class BindingApi:
    """The binding routes of one namerd; ``namers`` may be replaced until it serves."""

    def __init__(self, dtabs: DtabStore, namers: Mounts = (), *, recheck: float = 1.0) -> None:
        self.dtabs = dtabs
        self.namers = namers
        self.recheck = recheck
        self.bound: dict[str, BoundName] = {}

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _ns(request: Request) -> str:
        return check_namespace(request.path_params["ns"])

    @staticmethod
    def _path(request: Request) -> Path:
        try:
            return Path.read(request.query_params.get("path", ""))
        except NamingSyntaxError as exc:
            raise BadQuery(f"Invalid path: {exc}") from None

    @staticmethod
    def _local(request: Request) -> Dtab:
        try:
            return Dtab.read(request.query_params.get("dtab", ""))
        except NamingSyntaxError as exc:
            raise BadQuery(f"Invalid dtab: {exc}") from None

    async def _dtab_of(self, ns: str) -> Dtab:
        found = await self.dtabs.get(ns)
        return found[0] if found else Dtab()

    async def _bind(self, dtab: Dtab, path: Path) -> NameTree[BoundName]:
        tree = await bind(dtab, path, namers=self.namers)
        for name in tree.leaves():
            self.bound[name.id.show] = name
        return tree

    def _addr_of(self, path: Path) -> Render:
        def render(tree: NameTree[BoundName]) -> dict[str, Any]:
            names = sorted(tree.eval() or (), key=lambda n: n.id.show)
            name = next((n for n in names if n.id == path), names[0] if names else None)
            return {"type": "neg"} if name is None else addr_json(name.addr.value)

        return render

    # -- routes ---------------------------------------------------------------------------

    async def bind(self, request: Request) -> Response:
        ns, path, local = self._ns(request), self._path(request), self._local(request)
        if _watching(request):
            return self._stream(path, local, tree_json, ns)
        tree = await self._bind(await self._dtab_of(ns) + local, path)
        return json_response(tree_json(tree))

    async def addr(self, request: Request) -> Response:
        self._ns(request)
        path = self._path(request)
        if _watching(request):
            return self._stream(path, Dtab(), self._addr_of(path))
        return json_response(self._addr_of(path)(await self._bind(Dtab(), path)))

    async def resolve(self, request: Request) -> Response:
        """The address of one bound name of the path, picked as a router picks: by weight in
        a union, the first branch that binds in an alternation (Linkerd's ``resolve``)."""
        ns, path, local = self._ns(request), self._path(request), self._local(request)
        if _watching(request):
            return self._stream(path, local, _resolved, ns)
        return json_response(_resolved(await self._bind(await self._dtab_of(ns) + local, path)))

    async def delegate(self, request: Request) -> Response:
        ns, path, local = self._ns(request), self._path(request), self._local(request)
        node = await delegate(await self._dtab_of(ns) + local, path, namers=self.namers)
        return json_response(node.to_json())

    async def bound_names(self, request: Request) -> Response:
        """Every name the namers can list (``io.l5d.fs``'s files) and every id bound here."""
        listed = enumerated_names(namer for _, namer in self.namers)
        return json_response(sorted(set(self.bound) | listed))

    # -- watches --------------------------------------------------------------------------

    def _stream(self, path: Path, local: Dtab, render: Render, ns: str | None = None) -> Response:
        lines = self._follow(path, local, render, ns)
        return StreamingResponse(lines, media_type="application/json")

    async def _follow(
        self, path: Path, local: Dtab, render: Render, ns: str | None
    ) -> AsyncIterator[bytes]:
        """Bind ``path`` with namespace ``ns``'s dtab (none when ``None``) and ``local``,
        again on every change, yielding each distinct rendering."""
        poke = asyncio.Event()
        base = [Dtab()]
        follower: asyncio.Task[None] | None = None
        if ns is None:
            poke.set()
        else:

            async def follow_dtab() -> None:
                async for state in self.dtabs.watch(ns):
                    base[0] = state[0] if state else Dtab()
                    poke.set()

            follower = asyncio.create_task(follow_dtab())
        stops: list[Callable[[], None]] = []
        last = None
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(poke.wait(), self.recheck)
                poke.clear()  # a change from here on is seen by the next round
                for stop in stops:
                    stop()
                stops.clear()
                try:
                    tree = await self._bind(base[0] + local, path)
                except Exception as exc:  # the stream's reader gets the reason, then EOF
                    yield f"{exc}\n".encode()
                    return
                stops.extend(name.addr.observe(_on_change(poke)) for name in tree.leaves())
                body = _line(render(tree))
                if body != last:
                    last = body
                    yield (body + "\n").encode()
        finally:
            for stop in stops:
                stop()
            await cancel_quietly(follower)
