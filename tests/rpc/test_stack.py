"""Stacks are data: modules by role, typed params with defaults, edits by role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from roost.rpc.stack import Module, Params, Stack, StackError


@dataclass(frozen=True)
class Label:
    name: str = "default"


@dataclass(frozen=True)
class Timeout:
    seconds: float = 1.0


def layer(role: str) -> Module:
    def make(params: Params, below: Any) -> Any:
        return [role, params[Label].name, below]

    return Module(role, f"the {role} layer", make, reason=f"{role} goes here", params=(Label,))


def test_params_default_to_their_class_and_are_replaced_by_type() -> None:
    params = Params()
    assert params[Timeout].seconds == 1.0 and Timeout not in params
    changed = params.with_(Timeout(0.25), Label("x"))
    assert changed[Timeout].seconds == 0.25 and changed[Label].name == "x"
    assert params[Timeout].seconds == 1.0  # immutable


def test_the_first_module_wraps_everything_below_it() -> None:
    stack = Stack([layer("stats"), layer("timeout")])
    assert stack.make(Params([Label("l")]), "leaf") == ["stats", "l", ["timeout", "l", "leaf"]]


def test_modules_are_edited_by_role() -> None:
    stack = Stack([layer("a"), layer("c")])
    stack = stack.insert_before("c", layer("b")).insert_after("c", layer("d"))
    assert stack.roles == ["a", "b", "c", "d"]
    assert stack.remove("b").roles == ["a", "c", "d"]
    assert stack.replace("a", layer("z")).roles == ["z", "b", "c", "d"]
    assert stack.prepend(layer("top")).append(layer("bottom")).roles[0::5] == ["top", "bottom"]


def test_unknown_and_duplicate_roles_are_errors() -> None:
    stack = Stack([layer("a")])
    with pytest.raises(StackError, match="no module with role 'x'"):
        stack.remove("x")
    with pytest.raises(StackError, match="duplicate roles"):
        stack.append(layer("a"))


def test_a_stack_describes_itself_for_the_admin_page() -> None:
    stack = Stack([layer("stats"), layer("timeout")])
    described = stack.describe(Params([Label("web")]))
    assert described[0] == {
        "role": "stats",
        "description": "the stats layer",
        "reason": "stats goes here",
        "params": {"Label": "Label(name='web')"},
    }
    assert str(stack).splitlines() == ["stats    the stats layer", "timeout  the timeout layer"]
