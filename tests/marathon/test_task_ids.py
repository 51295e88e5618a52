from __future__ import annotations

import uuid

import pytest

from roost.marathon.task_ids import app_id_of, is_task_id, new_task_id, safe_path

U = "62d0f03f-79aa-11e6-a1a0-660c139c5e15"


@pytest.mark.parametrize(
    ("app_id", "safe"),
    [
        ("/web", "web"),
        ("/grp/web", "grp_web"),
        ("/a/b/c.d", "a_b_c.d"),
        ("grp/web", "grp_web"),  # relative ids are taken as rooted
    ],
)
def test_safe_path_joins_app_id_segments_with_underscores(app_id: str, safe: str) -> None:
    assert safe_path(app_id) == safe


@pytest.mark.parametrize("app_id", ["/", ""])
def test_the_root_has_no_task_ids(app_id: str) -> None:
    with pytest.raises(ValueError, match="no path segments"):
        new_task_id(app_id)


def test_new_task_id_is_the_safe_path_a_dot_and_a_uuid() -> None:
    task_id = new_task_id("/grp/web")
    safe, _, tail = task_id.partition(".")
    assert safe == "grp_web"
    assert str(uuid.UUID(tail)) == tail


def test_new_task_ids_are_unique() -> None:
    assert len({new_task_id("/web") for _ in range(1000)}) == 1000


@pytest.mark.parametrize("app_id", ["/web", "/grp/web", "/prod/eu.west/api-v2", "/my.app"])
def test_app_id_of_a_new_task_id_is_the_app_id(app_id: str) -> None:
    task_id = new_task_id(app_id)
    assert app_id_of(task_id) == app_id
    assert is_task_id(task_id)


@pytest.mark.parametrize(
    ("task_id", "app_id"),
    [
        # legacy (Task.scala LegacyTaskIdRegex), cases from upstream's TaskIdTest
        (f"frontend-foosball.{U}", "/frontend-foosball"),
        (f"test_foo_bla_rest.{U}", "/test/foo/bla/rest"),
        (f"app_{U}", "/app"),
        (f"app_foo_bar_{U}", "/app/foo/bar"),
        (f"app.foo.bar_{U}", "/app.foo.bar"),
        (f"app.{U.upper()}", "/app"),
        # legacy resident: a launch attempt after the uuid
        (f"app.test.23.{U}.41", "/app.test.23"),
        # instance era: final Marathon (`._app.<incarnation>`) and 1.4-1.7 (`.$anon`)
        (f"grp_web.instance-{U}._app.1", "/grp/web"),
        (f"grp_web.instance-{U}._app.42", "/grp/web"),
        (f"grp_web.instance-{U}._app", "/grp/web"),
        (f"test_foo_bla_rest.instance-{U}.$anon", "/test/foo/bla/rest"),
        (f"my-group_my-app.marathon-{U}.$anon.3", "/my-group/my-app"),
        (f"app.instance-{U}.rails.2", "/app"),  # a pod container's task
    ],
)
def test_app_id_of_parses_legacy_and_instance_era_task_ids(task_id: str, app_id: str) -> None:
    assert app_id_of(task_id) == app_id
    assert is_task_id(task_id)


@pytest.mark.parametrize(
    "task_id",
    [
        "",
        "web",
        f"{U}",  # no app part
        f".{U}",
        "web.not-a-uuid",
        f"web.{U[:-1]}",  # uuid one digit short
        f"web.{U}x",
        f"web.{U}.",
        f"web.{U}.one",  # attempt must be a number
        f"Web.{U}",  # app ids are lower case
        f"web-.{U}",  # segments may not end with '-'
        f"a__b.{U}",  # an empty segment
        f"_web.{U}",
        f"web.instance-{U}",  # instance id without the task part
        "web.instance-nope._app.1",
        "ct:1445433600000:0:job:",  # a Chronos task id
        f"web.{U}.1.2",
    ],
)
def test_anything_else_is_not_a_task_id(task_id: str) -> None:
    assert app_id_of(task_id) is None
    assert not is_task_id(task_id)


def test_legacy_ids_take_the_last_uuid_so_app_names_may_contain_dots_and_uuids() -> None:
    assert app_id_of(f"a.b.{U}") == "/a.b"
    assert app_id_of(f"a.{U}.{U}") == f"/a.{U}"
