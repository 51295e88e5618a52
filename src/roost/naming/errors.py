"""Errors of roost.naming.

::

    NamingError
    ├── NamingSyntaxError (also a ValueError)  a path, tree, dentry or dtab that does not parse
    └── MaxDepthExceeded                       binding recursed past its limit
"""

from __future__ import annotations


class NamingError(Exception):
    """Anything roost.naming raises on purpose."""


class NamingSyntaxError(NamingError, ValueError):
    """Text that is not a path, name tree, dentry or dtab. The message has Finagle's shape:
    ``label char expected but end of input found at '/foo/bar/[]'`` — the offending character
    in brackets, ``[]`` for the end of the input."""


class MaxDepthExceeded(NamingError):
    """Binding followed more rewrites than its limit (Finagle
    ``NamerExceededMaxDepthException``)."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"Max recursion level: {max_depth} reached in Namer lookup")
        self.max_depth = max_depth
