import base64

import pytest

from roost.cluster.scheduler import calls


def test_resubscribe_carries_the_framework_id_top_level_and_in_framework_info() -> None:
    info = {"name": "fw", "user": "u"}
    body = calls.subscribe(info, "F-0001")
    assert body == {
        "type": "SUBSCRIBE",
        "framework_id": {"value": "F-0001"},
        "subscribe": {"framework_info": {"name": "fw", "user": "u", "id": {"value": "F-0001"}}},
    }
    assert "id" not in info  # the caller's dict is not modified


def test_first_subscribe_has_no_framework_id() -> None:
    body = calls.subscribe({"name": "fw", "user": "u"}, None)
    assert "framework_id" not in body
    assert "id" not in body["subscribe"]["framework_info"]


def test_accept_takes_string_or_object_ids_and_filters() -> None:
    ops = [calls.launch_op([{"name": "t"}])]
    body = calls.accept("F", ["O1", {"value": "O2"}], ops, {"refuse_seconds": 60.0})
    assert body["accept"] == {
        "offer_ids": [{"value": "O1"}, {"value": "O2"}],
        "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{"name": "t"}]}}],
        "filters": {"refuse_seconds": 60.0},
    }


def test_launch_group_operation_shape() -> None:
    op = calls.launch_group_op({"executor_id": {"value": "e"}}, [{"name": "a"}, {"name": "b"}])
    assert op == {
        "type": "LAUNCH_GROUP",
        "launch_group": {
            "executor": {"executor_id": {"value": "e"}},
            "task_group": {"tasks": [{"name": "a"}, {"name": "b"}]},
        },
    }


def test_filters_merge_refuse_seconds_and_vanish_when_empty() -> None:
    assert calls.filters_obj(None, None) is None
    assert calls.filters_obj(None, 30) == {"refuse_seconds": 30.0}
    assert calls.filters_obj({"refuse_seconds": 1}, 2) == {"refuse_seconds": 2.0}
    assert "filters" not in calls.decline("F", ["O1"], None)["decline"]


def test_revive_and_suppress_send_roles_only_when_given() -> None:
    assert calls.roles_call("REVIVE", "F", None) == {
        "type": "REVIVE",
        "framework_id": {"value": "F"},
    }
    assert calls.roles_call("SUPPRESS", "F", ["web"])["suppress"] == {"roles": ["web"]}


def test_kill_with_optional_agent_and_policy() -> None:
    assert calls.kill("F", "t1")["kill"] == {"task_id": {"value": "t1"}}
    policy = {"grace_period": {"nanoseconds": 10**9}}
    assert calls.kill("F", "t1", "a1", policy)["kill"] == {
        "task_id": {"value": "t1"},
        "agent_id": {"value": "a1"},
        "kill_policy": policy,
    }


def test_acknowledge_passes_base64_through_and_encodes_raw_bytes() -> None:
    raw = bytes(range(16))
    b64 = base64.b64encode(raw).decode()
    assert calls.acknowledge("F", "a", "t", b64)["acknowledge"]["uuid"] == b64
    assert calls.acknowledge("F", "a", "t", raw)["acknowledge"]["uuid"] == b64


def test_reconcile_empty_is_implicit_and_agent_ids_are_optional() -> None:
    assert calls.reconcile("F", [])["reconcile"] == {"tasks": []}
    assert calls.reconcile("F", [("t1", None), ("t2", "a2")])["reconcile"]["tasks"] == [
        {"task_id": {"value": "t1"}},
        {"task_id": {"value": "t2"}, "agent_id": {"value": "a2"}},
    ]


def test_message_data_is_base64() -> None:
    body = calls.message("F", "a", "e", b"\x00hi")
    assert base64.b64decode(body["message"]["data"]) == b"\x00hi"


def test_shutdown_request_and_teardown() -> None:
    assert calls.shutdown("F", "e", "a")["shutdown"] == {
        "executor_id": {"value": "e"},
        "agent_id": {"value": "a"},
    }
    assert calls.request("F", [{"resources": []}])["request"] == {"requests": [{"resources": []}]}
    assert calls.teardown("F") == {"type": "TEARDOWN", "framework_id": {"value": "F"}}


def test_bad_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="expected an id"):
        calls.id_obj({"id": "x"})
    assert calls.id_value({"value": "x"}) == "x"
    assert calls.id_value("x") is None
