"""A bound name (Finagle ``Name.Bound``): the end of binding — an identity, the addresses
behind it (a :class:`~roost.naming.var.Var` of :class:`~roost.naming.addr.Addr`, so changes
reach whoever watches) and the residual path that was left over.

Two bound names are the same name when their ids are equal, whatever their residuals: the
id (``/$/inet/127.0.0.1/8080``, ``/#/io.l5d.fs/web``) keys the client cache and the stats
scope; the residual travels with the request (``l5d-dst-residual``).
"""

from __future__ import annotations

from roost.naming.addr import Addr
from roost.naming.path import EMPTY_PATH, Path
from roost.naming.var import Var


class BoundName:
    __slots__ = ("addr", "id", "residual")

    def __init__(self, id: Path, addr: Var[Addr], residual: Path = EMPTY_PATH) -> None:
        self.id = id
        self.addr = addr
        self.residual = residual

    @property
    def show(self) -> str:
        return self.id.show

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BoundName) and self.id == other.id

    def __hash__(self) -> int:
        return hash(("BoundName", self.id))

    def __repr__(self) -> str:
        residual = f", residual={self.residual.show}" if self.residual.elems else ""
        return f"BoundName({self.id.show}{residual})"
