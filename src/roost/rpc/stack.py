"""Stacks are data (Finagle ``Stack.scala``): an ordered list of modules, each with a role,
a description, the reason it sits where it does, and typed params with defaults.

A stack is built top to bottom: the first module sees the request first and wraps all the
modules below it, down to the leaf (a transport, a balancer…). Edit a stack by role —
``insert_before``, ``insert_after``, ``replace``, ``remove`` — and print it for an admin page.

Params are frozen dataclasses keyed by their class::

    @dataclass(frozen=True)
    class Timeout:
        seconds: float = 1.0

    params = Params().with_(Timeout(0.5))
    params[Timeout].seconds  # 0.5; an absent param is its class's default
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

P = TypeVar("P")


class Params:
    """An immutable map from param class to value; missing params are ``cls()``."""

    __slots__ = ("_values",)

    def __init__(self, values: Iterable[Any] = ()) -> None:
        self._values: dict[type, Any] = {type(v): v for v in values}

    def __getitem__(self, cls: type[P]) -> P:
        value = self._values.get(cls)
        return cls() if value is None else value

    def __contains__(self, cls: type) -> bool:
        return cls in self._values

    def with_(self, *values: Any) -> Params:
        out = Params()
        out._values = {**self._values, **{type(v): v for v in values}}
        return out

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values.values())

    def __repr__(self) -> str:
        return f"Params({list(self._values.values())!r})"


Make = Callable[[Params, Any], Any]
"""``make(params, below) -> wrapped``: build this layer around what is below it."""


@dataclass(frozen=True)
class Module:
    role: str
    description: str
    make: Make = field(compare=False)
    reason: str = ""
    """Why the module sits where it does ("timeouts sit under stats so they are counted")."""
    params: tuple[type, ...] = ()
    """The param classes the module reads (shown on the admin page with their values)."""


class StackError(ValueError):
    pass


class Stack:
    """Modules top (sees the request first) to bottom; immutable, edits return new stacks."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        self.modules: tuple[Module, ...] = tuple(modules)
        roles = [m.role for m in self.modules]
        dupes = {r for r in roles if roles.count(r) > 1}
        if dupes:
            raise StackError(f"duplicate roles in stack: {sorted(dupes)}")

    @property
    def roles(self) -> list[str]:
        return [m.role for m in self.modules]

    def _index(self, role: str) -> int:
        for i, m in enumerate(self.modules):
            if m.role == role:
                return i
        raise StackError(f"no module with role {role!r} in stack {self.roles}")

    def __contains__(self, role: str) -> bool:
        return any(m.role == role for m in self.modules)

    def insert_before(self, role: str, module: Module) -> Stack:
        """``module`` goes just above ``role`` (it sees requests before ``role`` does)."""
        i = self._index(role)
        return Stack((*self.modules[:i], module, *self.modules[i:]))

    def insert_after(self, role: str, module: Module) -> Stack:
        i = self._index(role)
        return Stack((*self.modules[: i + 1], module, *self.modules[i + 1 :]))

    def prepend(self, module: Module) -> Stack:
        return Stack((module, *self.modules))

    def append(self, module: Module) -> Stack:
        return Stack((*self.modules, module))

    def replace(self, role: str, module: Module) -> Stack:
        i = self._index(role)
        return Stack((*self.modules[:i], module, *self.modules[i + 1 :]))

    def remove(self, role: str) -> Stack:
        i = self._index(role)
        return Stack((*self.modules[:i], *self.modules[i + 1 :]))

    def make(self, params: Params, leaf: Any) -> Any:
        """Build bottom-up: the last module wraps ``leaf``, the first wraps everything."""
        built = leaf
        for module in reversed(self.modules):
            built = module.make(params, built)
        return built

    def describe(self, params: Params | None = None) -> list[dict[str, Any]]:
        """One entry per module, top first: role, description, reason and param values."""
        params = params or Params()
        return [
            {
                "role": m.role,
                "description": m.description,
                "reason": m.reason,
                "params": {p.__name__: repr(params[p]) for p in m.params},
            }
            for m in self.modules
        ]

    def __str__(self) -> str:
        width = max((len(m.role) for m in self.modules), default=0)
        return "\n".join(f"{m.role:<{width}}  {m.description}" for m in self.modules)
