"""``Var``: a value that changes, and tells who is watching (Finagle ``Var``, ``Activity``).

A namer keeps each name's addresses in a ``Var[Addr]``; a load balancer observes it and gets
every change pushed, instead of polling. ``observe(callback)`` calls back with the current
value at once and with each new one after; the returned function stops the calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Var(Generic[T]):
    __slots__ = ("_observers", "_value")

    def __init__(self, value: T) -> None:
        self._value = value
        self._observers: list[Callable[[T], None]] = []

    @property
    def value(self) -> T:
        return self._value

    def set(self, value: T) -> None:
        """Change the value; observers are called (in subscription order) if it differs."""
        if value == self._value:
            return
        self._value = value
        for observer in list(self._observers):
            observer(value)

    def observe(self, callback: Callable[[T], None]) -> Callable[[], None]:
        """Call ``callback(value)`` now and on every change; call the result to stop."""
        self._observers.append(callback)
        callback(self._value)

        def stop() -> None:
            if callback in self._observers:
                self._observers.remove(callback)

        return stop

    @property
    def observed(self) -> bool:
        return bool(self._observers)

    def __repr__(self) -> str:
        return f"Var({self._value!r})"
