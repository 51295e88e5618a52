"""roost.naming: Finagle's naming — paths, name trees, dtabs — and binding them to addresses.

``Path.read("/svc/web")``, ``NameTree.read("/a & /b | ~")``, ``Dtab.read("/svc=>/#/io.l5d.fs")``;
``dtab.lookup(path)`` is one rewrite step. See ``docs/naming.md``.
"""

from roost.naming.dtab import ANY, EMPTY_DTAB, FAIL_DTAB, Dentry, Dtab, Prefix
from roost.naming.errors import MaxDepthExceeded, NamingError, NamingSyntaxError
from roost.naming.path import EMPTY_PATH, Path
from roost.naming.tree import EMPTY, FAIL, NEG, Alt, Leaf, NameTree, Union, Weighted

__all__ = [
    "ANY",
    "EMPTY",
    "EMPTY_DTAB",
    "EMPTY_PATH",
    "FAIL",
    "FAIL_DTAB",
    "NEG",
    "Alt",
    "Dentry",
    "Dtab",
    "Leaf",
    "MaxDepthExceeded",
    "NameTree",
    "NamingError",
    "NamingSyntaxError",
    "Path",
    "Prefix",
    "Union",
    "Weighted",
]
