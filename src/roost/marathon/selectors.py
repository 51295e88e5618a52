"""Label selectors for ``GET /v2/apps?label=...`` (``api/v2/LabelSelectorParsers.scala``).

Grammar (whitespace is allowed between tokens)::

    query     := [selector {"," selector}]
    selector  := term                       existence:  the label is set
               | term ("==" | "!=") term    equality
               | term ("in" | "notin") set  set membership
    set       := "(" [term {"," term}] ")"
    term      := {[A-Za-z0-9._-] | "\\" any-character}+

Any character other than ``A-Za-z0-9._-`` must be escaped with a backslash:
``\\!\\!\\! in (\\-\\-\\-, \\&\\&\\&)``. Every selector must hold (comma = AND). As in Marathon, each
one first requires the label to be present: ``tier!=db`` and ``tier notin (db)`` do not match
apps without a ``tier`` label. The empty query matches every app.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NoReturn

Operator = Literal["exists", "==", "!=", "in", "notin"]

_TERM = re.compile(r"(?:\\.|[-A-Za-z0-9_.])+")
_UNESCAPE = re.compile(r"\\(.)")
_NEEDS_ESCAPE = re.compile(r"([^-A-Za-z0-9_.])")
_WS = re.compile(r"[ \t\n\x0b\f\r]*")  # Java's \s: ASCII whitespace only
_OPERATOR = re.compile(r"==|!=|notin|in")


class SelectorError(ValueError):
    """A label selector that does not parse; the message names the offending part."""


@dataclass(frozen=True)
class Requirement:
    """One selector: ``key`` must be present and its value must satisfy ``op`` on ``values``."""

    key: str
    op: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.key not in labels:
            return False
        value = labels[self.key]
        if self.op == "==" or self.op == "in":
            return value in self.values
        if self.op == "!=" or self.op == "notin":
            return value not in self.values
        return True

    def __str__(self) -> str:
        key = _escape(self.key)
        if self.op == "exists":
            return key
        if self.op in ("==", "!="):
            return f"{key}{self.op}{_escape(self.values[0])}"
        return f"{key} {self.op} ({', '.join(_escape(v) for v in self.values)})"


@dataclass(frozen=True)
class LabelSelector:
    """A parsed ``label`` query: all of its requirements must match."""

    requirements: tuple[Requirement, ...] = ()

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """Parse ``text``; raises :class:`SelectorError` saying what is wrong and where."""
        return cls(_Parser(text).query())

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)

    def __str__(self) -> str:
        return ", ".join(str(r) for r in self.requirements)


def _escape(term: str) -> str:
    return _NEEDS_ESCAPE.sub(r"\\\1", term)


class _Parser:
    """Recursive descent over the grammar above; ``pos`` is an index into ``text``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def query(self) -> tuple[Requirement, ...]:
        if self._at_end():
            return ()
        requirements = [self.selector()]
        while self._accept(","):
            requirements.append(self.selector())
        if not self._at_end():
            self._fail("expected ',' or the end of the selector")
        return tuple(requirements)

    def selector(self) -> Requirement:
        key = self.term("a label name")
        self._skip_ws()
        op = _OPERATOR.match(self.text, self.pos)
        if op is None:
            # A bare key; whatever follows is checked by the caller (',' or the end).
            return Requirement(key, "exists")
        self.pos = op.end()
        if op[0] in ("==", "!="):
            return Requirement(key, "==" if op[0] == "==" else "!=", (self.term("a value"),))
        if not self._accept("("):
            self._fail(f"expected '(' after '{op[0]}'")
        values: list[str] = []
        if not self._accept(")"):
            values.append(self.term("a value"))
            while self._accept(","):
                values.append(self.term("a value"))
            if not self._accept(")"):
                self._fail("expected ',' or ')' in the value set")
        return Requirement(key, "in" if op[0] == "in" else "notin", tuple(values))

    def term(self, what: str) -> str:
        self._skip_ws()
        match = _TERM.match(self.text, self.pos)
        if match is None:
            self._fail(f"expected {what} (letters, digits, '.', '-', '_' or \\-escapes)")
        self.pos = match.end()
        return _UNESCAPE.sub(r"\1", match[0])

    def _accept(self, token: str) -> bool:
        self._skip_ws()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def _skip_ws(self) -> None:
        match = _WS.match(self.text, self.pos)
        self.pos = match.end() if match else self.pos

    def _at_end(self) -> bool:
        self._skip_ws()
        return self.pos >= len(self.text)

    def _fail(self, expected: str) -> NoReturn:
        self._skip_ws()
        rest = self.text[self.pos :]
        found = f"'{rest[:20]}{'...' if len(rest) > 20 else ''}'" if rest else "the end"
        raise SelectorError(
            f"Invalid label selector '{self.text}': {expected}, found {found} "
            f"at position {self.pos}"
        )
