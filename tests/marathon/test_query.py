from __future__ import annotations

import pytest

from roost.marathon.query import (
    COUNTS,
    DEPLOYMENTS,
    LAST_TASK_FAILURE,
    READINESS,
    TASK_STATS,
    TASKS,
    QueryError,
    collapse_slashes,
    parse_bool,
    parse_embed,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("True", True),  # marathon-python sends Python's str(bool)
        ("TRUE", True),
        ("false", False),
        ("False", False),
        ("fAlSe", False),
    ],
)
def test_parse_bool_is_case_insensitive(value: str, expected: bool) -> None:
    assert parse_bool(value, default=not expected, name="force") is expected


@pytest.mark.parametrize("default", [True, False])
def test_parse_bool_uses_the_default_when_the_parameter_is_absent(default: bool) -> None:
    assert parse_bool(None, default=default, name="force") is default


@pytest.mark.parametrize(
    ("value", "name", "message"),
    [
        ("maybe", "force", "Parameter 'force' must be true or false, got 'maybe'"),
        ("", "scale", "Parameter 'scale' must be true or false, got ''"),
        ("1", "wipe", "Parameter 'wipe' must be true or false, got '1'"),
        ("yes", "partialUpdate", "Parameter 'partialUpdate' must be true or false, got 'yes'"),
        (" true", "dryRun", "Parameter 'dryRun' must be true or false, got ' true'"),
    ],
)
def test_parse_bool_rejects_anything_else_naming_the_parameter(
    value: str, name: str, message: str
) -> None:
    with pytest.raises(QueryError) as info:
        parse_bool(value, default=False, name=name)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], set()),
        (["counts"], {COUNTS}),
        # all prefixes are interchangeable (marathon-python sends app.* to /v2/apps)
        (["apps.counts"], {COUNTS}),
        (["app.counts"], {COUNTS}),
        (["group.apps.counts"], {COUNTS}),
        # tasks implies deployments
        (["app.tasks"], {TASKS, DEPLOYMENTS}),
        (["apps.deployments"], {DEPLOYMENTS}),
        (["apps.readiness"], {READINESS}),
        (["apps.lastTaskFailure"], {LAST_TASK_FAILURE}),
        (["apps.taskStats"], {TASK_STATS}),
        # failures (deprecated) = tasks + lastTaskFailure + deployments
        (["apps.failures"], {TASKS, LAST_TASK_FAILURE, DEPLOYMENTS}),
        # what marathon-lb and traefik send
        (["apps.tasks"], {TASKS, DEPLOYMENTS}),
        (
            ["apps.tasks", "apps.deployments", "apps.readiness"],
            {TASKS, DEPLOYMENTS, READINESS},
        ),
        (["app.tasks", "app.counts", "app.tasks"], {TASKS, DEPLOYMENTS, COUNTS}),
        # unknown values are ignored
        (["apps.bogus", "lastTaskFailures", "app.", "", "counts"], {COUNTS}),
        (["apps.TASKS", "Counts"], set()),  # names are case-sensitive
        (["group.groups", "group.apps"], set()),  # group embeds are not app embeds
        (["app.apps.tasks"], set()),  # only one prefix is removed
    ],
)
def test_parse_embed_returns_the_canonical_embeds(values: list[str], expected: set[str]) -> None:
    assert parse_embed(values) == frozenset(expected)


def test_canonical_embed_names_are_marathons_own() -> None:
    assert [TASKS, COUNTS, DEPLOYMENTS, READINESS, LAST_TASK_FAILURE, TASK_STATS] == [
        "tasks",
        "counts",
        "deployments",
        "readiness",
        "lastTaskFailure",
        "taskStats",
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v2/apps//x", "/v2/apps/x"),  # marathon-python: "/v2/apps/" + "/x"
        ("/v2/apps//grp/web/tasks", "/v2/apps/grp/web/tasks"),
        ("//v2///apps////x//", "/v2/apps/x/"),
        ("/v2/apps/x", "/v2/apps/x"),
        ("/", "/"),
        ("", ""),
    ],
)
def test_collapse_slashes_turns_every_run_of_slashes_into_one(path: str, expected: str) -> None:
    assert collapse_slashes(path) == expected
