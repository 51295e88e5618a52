"""roost.naming: Finagle's naming — paths, name trees, dtabs — and binding them to addresses.

``Path.read("/svc/web")``, ``NameTree.read("/a & /b | ~")``, ``Dtab.read("/svc=>/#/io.l5d.fs")``;
``dtab.lookup(path)`` is one rewrite step. See ``docs/naming.md``.
"""

from roost.naming.addr import Addr, Address
from roost.naming.binding import Interpreter, bind, mount
from roost.naming.delegate import Node, delegate
from roost.naming.dtab import ANY, EMPTY_DTAB, FAIL_DTAB, Dentry, Dtab, Prefix
from roost.naming.errors import MaxDepthExceeded, NamingError, NamingSyntaxError
from roost.naming.name import BoundName
from roost.naming.namer import GLOBAL, Namer, NamerNotFound, register_namer
from roost.naming.path import EMPTY_PATH, Path
from roost.naming.rewriting import RewritingNamer  # registers /$/io.buoyant.*
from roost.naming.tree import EMPTY, FAIL, NEG, Alt, Leaf, NameTree, Union, Weighted
from roost.naming.var import Var

__all__ = [
    "ANY",
    "EMPTY",
    "EMPTY_DTAB",
    "EMPTY_PATH",
    "FAIL",
    "FAIL_DTAB",
    "GLOBAL",
    "NEG",
    "Addr",
    "Address",
    "Alt",
    "BoundName",
    "Dentry",
    "Dtab",
    "Interpreter",
    "Leaf",
    "MaxDepthExceeded",
    "NameTree",
    "Namer",
    "NamerNotFound",
    "NamingError",
    "NamingSyntaxError",
    "Node",
    "Path",
    "Prefix",
    "RewritingNamer",
    "Union",
    "Var",
    "Weighted",
    "bind",
    "delegate",
    "mount",
    "register_namer",
]
