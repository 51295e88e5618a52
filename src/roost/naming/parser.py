"""A recursive-descent parser for paths, name trees, dentries and dtabs, with the grammar and
error messages of Finagle's ``NameTreeParsers``::

    dtab     ::= (dentry (';' dentry)*)? ';'?
    dentry   ::= prefix '=>' tree
    prefix   ::= '/' | '/' elem ('/' elem)*          elem ::= '*' | label
    tree     ::= tree1 ('|' tree1)*                  one child: itself; more: Alt
    tree1    ::= weighted ('&' weighted)*            one child: itself; more: Union
    weighted ::= [number '*'] simple                 number ::= [0-9]*\\.?[0-9]+
    simple   ::= '(' tree ')' | path | '!' | '~' | '$'
    path     ::= '/' | '/' label ('/' label)*        label ::= (showable | '\\x' hex hex)+

Whitespace and ``#``-to-end-of-line comments may appear between tokens (a ``#`` inside a
label is a label character). An error names what was expected and what was found, and
marks the place: ``label char expected but end of input found at '/foo/bar/[]'``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from roost.naming.dtab import ANY, Dentry, Dtab, Prefix
from roost.naming.errors import NamingSyntaxError
from roost.naming.path import SHOWABLE, Path
from roost.naming.tree import DEFAULT_WEIGHT, EMPTY, FAIL, NEG, Alt, Leaf, NameTree, Union, Weighted

_SHOWABLE = frozenset(chr(b) for b in SHOWABLE)
_HEX = frozenset("0123456789abcdefABCDEF")
_NUMBER = frozenset("0123456789.")
_END = ""


class _Parser:
    __slots__ = ("i", "text")

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"expected text to parse, got {type(text).__name__}")
        self.text = text
        self.i = 0

    # -- scanning -----------------------------------------------------------------------

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else _END

    def illegal(self, expected: str, found: str | None = None) -> NamingSyntaxError:
        found = self.peek() if found is None else found
        text, i = self.text, self.i
        where = f"{text}[]" if i >= len(text) else f"{text[:i]}[{text[i]}]{text[i + 1 :]}"
        return NamingSyntaxError(f"{expected} expected but {_describe(found)} found at '{where}'")

    def maybe_eat(self, c: str) -> bool:
        if self.peek() == c:
            self.i += 1
            return True
        return False

    def eat(self, c: str) -> None:
        if not self.maybe_eat(c):
            raise self.illegal(_describe(c))

    def skip_space(self) -> None:
        text, n = self.text, len(self.text)
        while self.i < n and (text[self.i].isspace() or text[self.i] == "#"):
            if text[self.i] == "#":
                end = text.find("\n", self.i)
                self.i = n if end < 0 else end + 1
            else:
                self.i += 1

    def ensure_end(self) -> None:
        self.skip_space()
        if self.i < len(self.text):
            raise self.illegal(_describe(_END))

    # -- productions --------------------------------------------------------------------

    def label(self) -> bytes:
        out = bytearray()
        while True:
            c = self.peek()
            if c in _SHOWABLE and c:
                self.i += 1
                out.append(ord(c))
            elif c == "\\":
                self.i += 1
                self.eat("x")
                out.append(int(self.hex_char() + self.hex_char(), 16))
            else:
                raise self.illegal("label char")
            if not _is_label_char(self.peek()):
                return bytes(out)

    def hex_char(self) -> str:
        c = self.peek()
        if c and c in _HEX:
            self.i += 1
            return c
        raise self.illegal("hex char")

    def path(self) -> Path:
        self.skip_space()
        self.eat("/")
        if not _is_label_char(self.peek()):
            return Path()
        labels = [self.label()]
        while self.maybe_eat("/"):
            labels.append(self.label())
        return Path(labels)

    def prefix(self) -> Prefix:
        self.skip_space()
        self.eat("/")
        if not (_is_label_char(self.peek()) or self.peek() == "*"):
            return Prefix()
        elems: list[bytes | None] = []
        while True:
            if self.maybe_eat("*"):
                elems.append(ANY)
            else:
                elems.append(self.label())
            if not self.maybe_eat("/"):
                return Prefix(elems)

    def tree(self) -> NameTree[Path]:
        trees = [self.tree1()]
        self.skip_space()
        while self.maybe_eat("|"):
            trees.append(self.tree1())
            self.skip_space()
        return trees[0] if len(trees) == 1 else Alt(*trees)

    def tree1(self) -> NameTree[Path]:
        trees = [self.weighted()]
        self.skip_space()
        while self.maybe_eat("&"):
            trees.append(self.weighted())
            self.skip_space()
        return trees[0].tree if len(trees) == 1 else Union(*trees)

    def weighted(self) -> Weighted[Path]:
        self.skip_space()
        weight = DEFAULT_WEIGHT
        if self.peek() and self.peek() in _NUMBER:
            weight = self.number()
            self.skip_space()
            self.eat("*")
            self.skip_space()
        return Weighted(weight, self.simple())

    def number(self) -> float:
        start, dot = self.i, False
        while (c := self.peek()) and c in _NUMBER:
            if c == ".":
                if dot:
                    raise self.illegal("number char")
                dot = True
            self.i += 1
        digits = self.text[start : self.i]
        if digits == ".":
            self.i = start
            raise self.illegal("weight")
        return float(digits)

    def simple(self) -> NameTree[Path]:
        self.skip_space()
        c = self.peek()
        if c == "(":
            self.i += 1
            tree = self.tree()
            self.skip_space()
            self.eat(")")
            return tree
        if c == "/":
            return Leaf(self.path())
        for symbol, constant in (("!", FAIL), ("~", NEG), ("$", EMPTY)):
            if c == symbol:
                self.i += 1
                return constant
        raise self.illegal("simple")

    def dentry(self) -> Dentry:
        prefix = self.prefix()
        self.skip_space()
        self.eat("=")
        self.eat(">")
        return Dentry(prefix, self.tree())

    def dtab(self) -> Dtab:
        dentries: list[Dentry] = []
        while True:
            self.skip_space()
            if self.i < len(self.text):
                dentries.append(self.dentry())
                self.skip_space()
            if not self.maybe_eat(";"):
                return Dtab(dentries)


def _is_label_char(c: str) -> bool:
    return bool(c) and (c in _SHOWABLE or c == "\\")


def _describe(c: str) -> str:
    return "end of input" if c == _END else f"'{c}'"


T = TypeVar("T")


def _parse_all(text: str, production: Callable[[_Parser], T]) -> T:
    """``production`` over the whole of ``text`` (only whitespace and comments may follow)."""
    p = _Parser(text)
    found = production(p)
    p.ensure_end()
    return found


def parse_path(text: str) -> Path:
    return _parse_all(text, _Parser.path)


def parse_tree(text: str) -> NameTree[Path]:
    return _parse_all(text, _Parser.tree)


def parse_prefix(text: str) -> Prefix:
    return _parse_all(text, _Parser.prefix)


def parse_dentry(text: str) -> Dentry:
    return _parse_all(text, _Parser.dentry)


def parse_dtab(text: str) -> Dtab:
    return _parse_all(text, _Parser.dtab)
