"""Path ids behave like upstream ``PathId``: canonical absolute form, validation, derived names."""

from __future__ import annotations

import re

import pytest

from roost.marathon import pathid

REGEX_MESSAGE = f"must fully match regular expression '{pathid.SEGMENT_PATTERN}'"
RESERVED_MESSAGE = (
    "must not end with any of the following reserved keywords: restart, tasks, versions, ., .."
)


@pytest.mark.parametrize(
    ("raw", "base", "expected"),
    [
        ("hello2", "/", "/hello2"),
        ("/hello2", "/", "/hello2"),
        ("web", "/prod", "/prod/web"),
        ("web", "prod", "/prod/web"),
        ("/abs/web", "/prod", "/abs/web"),
        ("//a///b//", "/", "/a/b"),
        ("./web", "/prod", "/prod/web"),
        ("../web", "/prod/eu", "/prod/web"),
        ("a/../b", "/", "/b"),
        ("../../..", "/a", "/"),
        ("", "/grp", "/grp"),
        ("/", "/grp", "/"),
        ("a/", "/", "/a"),
    ],
)
def test_absolute_resolves_relative_ids_against_the_base(
    raw: str, base: str, expected: str
) -> None:
    assert pathid.absolute(raw, base) == expected


@pytest.mark.parametrize(
    "app_id",
    ["/a", "/grp/web-1", "/a.b/c-d.e", "/0/9", "/x" * 20, "/tasks/web", "/restart-me"],
)
def test_valid_ids_have_no_errors(app_id: str) -> None:
    assert pathid.id_errors(app_id) == []


@pytest.mark.parametrize(
    ("app_id", "errors"),
    [
        ("/Web", [REGEX_MESSAGE]),
        ("/grp/web_1", [REGEX_MESSAGE]),
        ("/-web", [REGEX_MESSAGE]),
        ("/web-", [REGEX_MESSAGE]),
        ("/a..b", [REGEX_MESSAGE]),
        ("/a b", [REGEX_MESSAGE]),
        ("/grp/tasks", [RESERVED_MESSAGE]),
        ("/versions", [RESERVED_MESSAGE]),
        ("/restart", [RESERVED_MESSAGE]),
        ("/a/..", [RESERVED_MESSAGE]),
        ("/", ["must not be root"]),
        ("", ["must not be root"]),
        ("/Tasks_x/tasks", [REGEX_MESSAGE, RESERVED_MESSAGE]),
    ],
)
def test_invalid_ids_get_upstream_messages(app_id: str, errors: list[str]) -> None:
    assert pathid.id_errors(app_id) == errors


def test_segment_pattern_is_upstreams_regex_verbatim() -> None:
    assert pathid.SEGMENT_PATTERN == (
        r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])"
        r"|(\.|\.\.)$"
    )
    assert re.fullmatch(pathid.SEGMENT_PATTERN, "my-app.v2")


@pytest.mark.parametrize(
    ("app_id", "safe"),
    [("/grp/web", "grp_web"), ("/web", "web"), ("/a/b/c", "a_b_c"), ("/", "")],
)
def test_safe_path_joins_segments_with_underscores_and_inverts(app_id: str, safe: str) -> None:
    assert pathid.safe_path(app_id) == safe
    assert pathid.from_safe_path(safe) == app_id


@pytest.mark.parametrize(
    ("app_id", "name"),
    [("/prod/web", "web.prod"), ("/web", "web"), ("/a/b/c", "c.b.a"), ("a//b/", "b.a")],
)
def test_hostname_is_the_reversed_dotted_path(app_id: str, name: str) -> None:
    assert pathid.hostname(app_id) == name


@pytest.mark.parametrize(
    ("app_id", "group"),
    [("/a/b", "/a"), ("/a", "/"), ("/", "/"), ("/a/b/c/", "/a/b"), ("x/y", "/x")],
)
def test_parent_is_the_enclosing_group(app_id: str, group: str) -> None:
    assert pathid.parent(app_id) == group


@pytest.mark.parametrize(
    ("child", "group", "expected"),
    [
        ("/a/b", "/a", True),
        ("/a", "/", True),
        ("/a//b/", "/a/", True),
        ("/a/b/c", "/a", False),
        ("/ab", "/a", False),
        ("/b/c", "/a", False),
        ("/", "/", False),
    ],
)
def test_is_child_of_means_directly_inside(child: str, group: str, expected: bool) -> None:
    assert pathid.is_child_of(child, group) is expected
