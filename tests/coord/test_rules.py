"""Key, value and version rules shared by every backend (pure functions)."""

from __future__ import annotations

import pytest

from roost.coord import BadVersionError, InvalidKeyError, NodeExistsError, NoNodeError
from roost.coord.rules import check_key, check_prefix, child_names, next_version

from .conformance import BAD_KEYS


@pytest.mark.parametrize("key", ["/a", "/a/b-c/d_e.f", "/apps/web:1", "/" + "k" * 1023, "/ü/日本"])
def test_valid_keys_are_returned_unchanged(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(("key", "message"), BAD_KEYS)
def test_invalid_keys_are_refused_with_a_specific_message(key: str, message: str) -> None:
    with pytest.raises(InvalidKeyError, match=message):
        check_key(key)


def test_non_string_key_is_refused() -> None:
    with pytest.raises(InvalidKeyError, match="must be a str"):
        check_key(b"/a")  # type: ignore[arg-type]


def test_root_is_a_valid_prefix_but_not_a_key() -> None:
    assert check_prefix("/") == "/"
    with pytest.raises(InvalidKeyError, match="root"):
        check_key("/")


@pytest.mark.parametrize(
    ("current", "expected", "outcome"),
    [
        (None, None, 0),
        (None, -1, 0),
        (None, 0, NoNodeError),
        (3, None, 4),
        (3, 3, 4),
        (3, 2, BadVersionError),
        (3, -1, NodeExistsError),
        (3, -2, ValueError),
    ],
)
def test_next_version_follows_zookeeper(
    current: int | None, expected: int | None, outcome: int | type[Exception]
) -> None:
    if isinstance(outcome, int):
        assert next_version("/k", current, expected) == outcome
    else:
        with pytest.raises(outcome):
            next_version("/k", current, expected)


def test_child_names_are_the_distinct_next_segments_in_order() -> None:
    keys = ["/a/b", "/a/b/c", "/a/b-x", "/a/a/z"]
    assert child_names("/a", keys) == ["a", "b", "b-x"]
    assert child_names("/", keys) == ["a"]
