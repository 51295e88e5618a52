"""Bad input over HTTP: every invalid request gets Marathon's status and JSON error shape.

Each row is one request against a real ``roost marathon`` (with a real master and agent)
and the exact answer expected: the status, the ``details[].path`` that is the only one
reported (``None`` for errors without details) and a substring of its message (reference
§1.2; the validator's messages are in ``roost.marathon.appdef``). Nothing may answer 500
or change state: the aftermath test replays the whole table, then checks that the one
valid app is untouched, no other app, group or deployment appeared, and master and
marathon still serve.

One server serves the table (a cluster per row would cost a second each); known bugs
that change state get a server each (``SLIPS_THROUGH``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from roost.marathon import pathid
from tests.marathon.conftest import MarathonEnv, eventually, start_env, stop_env

pytestmark = pytest.mark.asyncio(loop_scope="module")

STEADY: dict[str, Any] = {"id": "/steady", "cmd": "sleep 1000", "cpus": 0.1, "mem": 16}
VALID: dict[str, Any] = {"id": "/bad", "cmd": "sleep 1", "cpus": 0.1, "mem": 16}
DROP = object()  # marks a key of VALID to remove
NO_BODY = object()

REGEX = f"must fully match regular expression '{pathid.SEGMENT_PATTERN}'"
RESERVED = "must not end with any of the following reserved keywords: restart, tasks"
CMD_ARGS = "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."
PORT_INDEX = "Health check port indices must address an element of the ports array"
OPERATORS = "Constraint operator must be one of the following UNIQUE, CLUSTER, GROUP_BY"
FIELDS = "Each constraint must have either 2 or 3 fields"
HC_PROTOCOLS = "must be one of HTTP, HTTPS, TCP, COMMAND, MESOS_HTTP, MESOS_HTTPS, MESOS_TCP"
SAME_ID = "Groups and Applications may not have the same identifier."
VERSION_ONLY = "The 'version' field may only be combined with the 'id' field."
LT0, LT1, UNKNOWN = "is less than 0", "is less than 1", "unknown property"
NUMBER, STRING, INT = "error.expected.jsnumber", "error.expected.jsstring", "error.expected.int"
OBJECT, ARRAY, MISSING = "error.expected.jsobject", "error.expected.jsarray", "error.path.missing"
BAD_JSON, TOO_DEEP = "Unexpected JSON", "nested more than 100 levels deep"
MIB = 1024 * 1024
TOO_BIG = f"Request body is larger than {MIB} bytes"
HEADLINE = {400: "Invalid JSON", 422: "Object is not valid"}
HC0, C0, PD = "/healthChecks(0)", "/constraints(0)", "/portDefinitions"
MHC, MOC = "/upgradeStrategy/minimumHealthCapacity", "/upgradeStrategy/maximumOverCapacity"
BOTH = "cannot specify both ports and port definitions"
TWO_A = [{"port": 0, "name": "a"}, {"port": 0, "name": "a"}]
T0 = "2015-01-01T00:00:00.000Z"


@dataclass(frozen=True)
class Raw:
    """A body sent as these bytes (``chunked``: without a Content-Length)."""

    data: bytes
    chunked: bool = False


@dataclass(frozen=True)
class Case:
    method: str
    url: str
    body: Any
    status: int
    where: str | None
    says: str


def app(**changes: Any) -> dict[str, Any]:
    out = {**VALID, **changes}
    return {k: v for k, v in out.items() if v is not DROP}


def row(name: str, request: str, body: Any, status: int, where: str | None, says: str) -> Any:
    """One case: ``request`` is ``"METHOD /url"``; ``where=None``: no details expected."""
    method, url = request.split(" ", 1)
    case = Case(method, url, body, status, where, says)
    return pytest.param(case, id=f"{request.split('?')[0]}: {name}")


def post(name: str, body: Any, status: int, where: str | None, says: str) -> Any:
    return row(name, "POST /v2/apps", body, status, where, says)


def put(name: str, body: Any, status: int, where: str | None, says: str) -> Any:
    return row(name, "PUT /v2/apps/steady", body, status, where, says)


def group(name: str, body: Any, status: int, where: str | None, says: str) -> Any:
    return row(name, "POST /v2/groups", {"id": "/g", **body}, status, where, says)


def query(name: str, request: str, status: int, says: str) -> Any:
    return row(name, request, NO_BODY, status, None, says)


def constraint(*c: Any) -> dict[str, Any]:
    return app(constraints=[list(c)])


def check(**hc: Any) -> dict[str, Any]:
    return app(healthChecks=[hc])


DEEP = reduce(lambda inner, _: {"a": inner}, range(120), {})  # parses, but 120 levels deep
DEEP_VOLUME = {"type": "MESOS", "volumes": [{"containerPath": "p", "persistent": DEEP}]}

CREATE = [
    post("missing id", app(id=DROP), 400, "/id", MISSING),
    post("id not a string", app(id=5), 400, "/id", STRING),
    post("bad id characters", app(id="/My_App"), 422, "/id", REGEX),
    post("reserved id suffix", app(id="/grp/restart"), 422, "/id", RESERVED),
    post("root id", app(id="/"), 422, "/id", "must not be root"),
    post("id under an app", app(id="/steady/sub"), 422, "/", SAME_ID),
    post("bad dependency", app(dependencies=["/Other"]), 422, "/dependencies(0)", REGEX),
    post("cmd and args", app(args=["sleep", "1"]), 422, "/", CMD_ARGS),
    post("neither cmd nor args", app(cmd=DROP), 422, "/", CMD_ARGS),
    post("empty cmd", app(cmd=""), 422, "/cmd", "must not be an empty string"),
    post("blank cmd", app(cmd="  "), 422, "/cmd", "must not be an empty string"),
    post("negative cpus", app(cpus=-1), 422, "/cpus", LT0),
    post("negative mem", app(mem=-16), 422, "/mem", LT0),
    post("negative disk", app(disk=-0.5), 422, "/disk", LT0),
    post("negative gpus", app(gpus=-1), 422, "/gpus", LT0),
    post("negative instances", app(instances=-1), 422, "/instances", LT0),
    post("absurd cpus", app(cpus=1e9), 422, "/cpus", "is greater than 1000000"),
    post("absurd mem", app(mem=1e15), 422, "/mem", "is greater than 1000000000"),
    post("absurd instances", app(instances=10**9), 422, "/instances", "is greater than 1000000"),
    post("instances past int32", app(instances=2**40), 400, "/instances", INT),
    post("huge integer cpus", app(cpus=10**400), 400, "/cpus", NUMBER),
    post("NaN cpus", Raw(b'{"id": "bad", "cmd": "x", "cpus": NaN}'), 400, "/cpus", NUMBER),
    post("Infinity mem", Raw(b'{"id": "bad", "cmd": "x", "mem": Infinity}'), 400, "/mem", NUMBER),
    post("min health above 1", app(upgradeStrategy={"minimumHealthCapacity": 1.5}), 422, MHC, "1"),
    post("over capacity below 0", app(upgradeStrategy={"maximumOverCapacity": -1}), 422, MOC, LT0),
    post("upgradeStrategy a number", app(upgradeStrategy=1), 400, "/upgradeStrategy", OBJECT),
    post("backoffFactor below 1", app(backoffFactor=0.5), 422, "/backoffFactor", LT1),
    post("negative backoffSeconds", app(backoffSeconds=-1), 422, "/backoffSeconds", LT0),
    post("bad killSelection", app(killSelection="RANDOM"), 422, "/killSelection", "OLDEST_FIRST"),
    post("constraint with 1 field", constraint("hostname"), 422, C0, FIELDS),
    post("constraint with 4 fields", constraint("a", "CLUSTER", "b", "c"), 422, C0, FIELDS),
    post("unknown operator", constraint("hostname", "NEAR"), 422, C0, OPERATORS),
    post("UNIQUE with value", constraint("hostname", "UNIQUE", "x"), 422, C0, "Value specified"),
    post("LIKE with bad regex", constraint("hostname", "LIKE", "[a"), 422, C0, "'[a' is not a"),
    post("LIKE without value", constraint("hostname", "LIKE"), 422, C0, "regular expression"),
    post("MAX_PER not integer", constraint("rack", "MAX_PER", "two"), 422, C0, "not a number"),
    post("constraint not a list", app(constraints=["hostname"]), 400, C0, ARRAY),
    post("health check protocol", check(protocol="SMTP"), 422, f"{HC0}/protocol", HC_PROTOCOLS),
    post("health check portIndex", check(portIndex=3), 422, f"{HC0}/portIndex", PORT_INDEX),
    post("negative interval", check(intervalSeconds=-5), 422, f"{HC0}/intervalSeconds", LT1),
    post("COMMAND check, no command", check(protocol="COMMAND"), 422, f"{HC0}/command", "defined"),
    post("health checks an object", app(healthChecks={}), 400, "/healthChecks", ARRAY),
    post("ports and definitions", app(ports=[1], portDefinitions=[{"port": 2}]), 422, "/", BOTH),
    post("duplicate port names", app(portDefinitions=TWO_A), 422, PD, "Port names must be unique."),
    post("duplicate ports", app(ports=[8080, 8080]), 422, "/ports", "ports must be unique"),
    post("port out of range", app(ports=[70000]), 422, f"{PD}(0)/port", "is greater than 65535"),
    post("negative port", app(portDefinitions=[{"port": -1}]), 422, f"{PD}(0)/port", LT0),
    post("cpus as a string", app(cpus="1"), 400, "/cpus", NUMBER),
    post("instances true", app(instances=True), 400, "/instances", NUMBER),
    post("fractional instances", app(instances=1.5), 400, "/instances", INT),
    post("cmd as a number", app(cmd=5), 400, "/cmd", STRING),
    post("env value a number", app(env={"A": 3}), 400, "/env/A", STRING),
    post("env as a list", app(env=["A=1"]), 400, "/env", OBJECT),
    post("labels value true", app(labels={"a": True}), 400, "/labels/a", STRING),
    post("fetch without uri", app(fetch=[{}]), 400, "/fetch(0)/uri", MISSING),
    post("version not a timestamp", app(version="yesterday"), 422, "/version", "timestamp"),
    post("unknown top-level key", app(colour="blue"), 422, "/colour", UNKNOWN),
    post("body an array", [VALID], 400, "/", OBJECT),
    post("body a string", "bad", 400, "/", OBJECT),
    post("body null", None, 400, "/", OBJECT),
    post("empty body", Raw(b""), 400, "/", OBJECT),
    post("invalid JSON", Raw(b"{"), 400, "/", BAD_JSON),
    post("invalid UTF-8", Raw(b'{"id": "\xff"}'), 400, "/", BAD_JSON),
    post("nesting beyond the decoder", Raw(b"[" * 100_000 + b"]" * 100_000), 400, "/", TOO_DEEP),
    post("deep open object", app(container=DEEP_VOLUME), 400, "/", TOO_DEEP),
    post("oversized body", Raw(b" " * (MIB + 1)), 413, None, TOO_BIG),
    post("oversized chunked body", Raw(b" " * (MIB + 1), chunked=True), 413, None, TOO_BIG),
    post("existing id", STEADY, 409, None, "An app with id [/steady] already exists."),
    row("force=maybe", "POST /v2/apps?force=maybe", VALID, 400, None, "'force'"),
]

UPDATE = [
    put("negative cpus", {"cpus": -1}, 422, "/cpus", LT0),
    put("id in body ignored", {"id": "/other", "instances": -1}, 422, "/instances", LT0),
    put("min health above 1", {"upgradeStrategy": {"minimumHealthCapacity": 2}}, 422, MHC, "1"),
    put("bad constraint", {"constraints": [["hostname"]]}, 422, C0, FIELDS),
    put("body an array", [1, 2], 400, "/", OBJECT),
    put("invalid JSON", Raw(b'{"cpus": '), 400, "/", BAD_JSON),
    put("empty body", Raw(b""), 400, "/", OBJECT),
    put("version with changes", {"version": T0, "cmd": "x"}, 422, "/", VERSION_ONLY),
    put("rollback to unknown version", {"version": T0}, 404, None, "does not exist"),
    row("full replace, no cmd", "PUT /v2/apps/steady?partialUpdate=false", {}, 422, "/", CMD_ARGS),
    row("bad flag", "PUT /v2/apps/steady?partialUpdate=so", {}, 400, None, "'partialUpdate'"),
    row("wrong type", "PATCH /v2/apps/steady", {"instances": "two"}, 400, "/instances", NUMBER),
    row("unknown key", "PATCH /v2/apps/steady", {"bogus": 1}, 422, "/bogus", UNKNOWN),
    row("cmd and args", "PATCH /v2/apps/steady", {"cmd": "x", "args": ["y"]}, 422, "/", CMD_ARGS),
    row("unknown app", "PATCH /v2/apps/ghost", {"cpus": 1}, 404, None, "App '/ghost' does not"),
    row("creating a bad id", "PUT /v2/apps/Bad_Name", {"cmd": "x"}, 422, "/id", REGEX),
    row("creating under an app", "PUT /v2/apps/steady/sub", {"cmd": "x"}, 422, "/", SAME_ID),
    row("not an array", "PUT /v2/apps", STEADY, 400, "/", ARRAY),
    row("item not an object", "PUT /v2/apps", [5], 400, "(0)", OBJECT),
    row("item without id", "PUT /v2/apps", [{"cmd": "x"}], 400, "(0)/id", MISSING),
    row("invalid item", "PUT /v2/apps", [{"id": "steady", "cpus": -1}], 422, "(0)/cpus", LT0),
    row("second item bad", "PUT /v2/apps", [VALID, STEADY | {"mem": -1}], 422, "(1)/mem", LT0),
    row("item under an app", "PUT /v2/apps", [app(id="steady/sub")], 422, "/", SAME_ID),
    row("unknown id", "PATCH /v2/apps", [{"id": "ghost", "cpus": 1}], 404, None, "App '/ghost'"),
]

TASKS = [
    row("no ids", "POST /v2/tasks/delete", {}, 400, "/ids", MISSING),
    row("body an array", "POST /v2/tasks/delete", [], 400, "/", OBJECT),
    row("ids not an array", "POST /v2/tasks/delete", {"ids": "t1"}, 400, "/ids", ARRAY),
    row("ids not strings", "POST /v2/tasks/delete", {"ids": [1]}, 400, "/ids", STRING),
    row("unknown task id", "POST /v2/tasks/delete", {"ids": ["nope.1"]}, 400, None, "nope.1"),
    row("invalid JSON", "POST /v2/tasks/delete", Raw(b"{"), 400, "/", BAD_JSON),
    row("scale+wipe", "POST /v2/tasks/delete?scale=true&wipe=true", {"ids": []}, 400, None, "wipe"),
    row("force=maybe", "POST /v2/tasks/delete?force=maybe", {"ids": []}, 400, None, "'force'"),
    query("kill unknown task", "DELETE /v2/apps/steady/tasks/nope.1", 404, "Task 'nope.1' does"),
    query("kill with scale=yes", "DELETE /v2/apps/steady/tasks?scale=yes", 400, "'scale'"),
    query("scale+wipe", "DELETE /v2/apps/steady/tasks?scale=true&wipe=true", 400, "wipe"),
    query("status=x", "GET /v2/tasks?status=x", 400, "Unknown task status 'x'"),
    query("status[]=lost", "GET /v2/tasks?status[]=lost", 400, "Unknown task status 'lost'"),
]

GROUPS = [
    row("body an array", "POST /v2/groups", [], 400, "/", OBJECT),
    row("no id: the root", "POST /v2/groups", {}, 409, None, "Group / is already created. Use PUT"),
    row("id not a string", "POST /v2/groups", {"id": 5}, 400, "/id", STRING),
    row("bad group id", "POST /v2/groups", {"id": "/Bad_Group"}, 422, "/id", REGEX),
    group("apps a number", {"apps": 5}, 400, "/apps", ARRAY),
    group("groups an object", {"groups": {}}, 400, "/groups", ARRAY),
    group("dependencies a number", {"dependencies": 5}, 400, "/dependencies", ARRAY),
    group("bad app", {"apps": [app(id="a", cpus=-1)]}, 422, "/apps(0)/cpus", LT0),
    group("app without id", {"apps": [app(id=DROP)]}, 400, "/apps(0)/id", MISSING),
    group("app outside", {"apps": [app(id="/x/a")]}, 422, "/apps(0)/id", "is not child of /g"),
    group("bad subgroup id", {"groups": [{"id": "Sub_G"}]}, 422, "/groups(0)/id", REGEX),
    group("app and group ids", {"apps": [app(id="a")], "groups": [{"id": "a"}]}, 422, "/", SAME_ID),
    group("unknown key", {"bogus": 1}, 422, "/bogus", UNKNOWN),
    group("negative scaleBy", {"scaleBy": -1}, 422, "/scaleBy", "non-negative"),
    row("invalid JSON", "POST /v2/groups", Raw(b"{"), 400, "/", BAD_JSON),
    row("bad group id", "PUT /v2/groups/Bad_G", {}, 422, "/id", REGEX),
    row("group over an app", "PUT /v2/groups/steady", {}, 422, "/", SAME_ID),
    row("absurd scaleBy", "PUT /v2/groups", {"scaleBy": 1e308}, 422, "/scaleBy", "more than"),
    row("rollback to a number", "PUT /v2/groups", {"version": 5}, 400, "/version", STRING),
    row("rollback to garbage", "PUT /v2/groups", {"version": "x"}, 422, "/version", "timestamp"),
    row("dryRun=maybe", "PUT /v2/groups/g?dryRun=maybe", {}, 400, None, "'dryRun'"),
    query("delete unknown group", "DELETE /v2/groups/ghost", 404, "Group '/ghost' does not exist"),
]

QUERIES = [
    query("label selector garbage", "GET /v2/apps?label=a in (b", 400, "Invalid label selector"),
    query("label selector symbols", "GET /v2/apps?label=!!!", 400, "Invalid label selector"),
    query("delete app force=maybe", "DELETE /v2/apps/steady?force=maybe", 400, "'force'"),
    query("restart force=2", "POST /v2/apps/steady/restart?force=2", 400, "'force'"),
    query("deployment force=maybe", "DELETE /v2/deployments/x?force=maybe", 400, "'force'"),
    query("unknown version", "GET /v2/apps/steady/versions/x", 404, "does not exist in version"),
    query("queue delay, unknown app", "DELETE /v2/queue/ghost/delay", 404, "/ghost"),
    query("unknown route", "GET /v2/nothing", 404, "URI not found"),
]

TABLE = CREATE + UPDATE + TASKS + GROUPS + QUERIES


@dataclass
class Server:
    env: MarathonEnv
    steady: dict[str, Any]  # the valid app as it was before any bad request
    tasks: set[str]


async def start_server(tmp: Path) -> Server:
    """A cluster and marathon with the valid app ``/steady`` running its one task."""
    env = await start_env(tmp)

    async def settled() -> dict[str, Any] | None:
        found = await env.app("/steady")
        return found if found["tasksRunning"] == 1 and not found["deployments"] else None

    try:
        assert (await env.client.post("/v2/apps", json=STEADY)).status_code == 201
        steady = await eventually(settled)
    except BaseException:
        await stop_env(env)
        raise
    return Server(env, steady, {t["id"] for t in steady["tasks"]})


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    started = await start_server(tmp_path_factory.mktemp("bad-input"))
    try:
        yield started
    finally:
        await stop_env(started.env)


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    # an async iterator makes httpx send chunked, without a Content-Length
    for start in range(0, len(data), 64 * 1024):
        yield data[start : start + 64 * 1024]


async def send(client: httpx.AsyncClient, case: Case) -> httpx.Response:
    body = case.body
    if body is NO_BODY:
        return await client.request(case.method, case.url)
    if isinstance(body, Raw):
        content = _chunks(body.data) if body.chunked else body.data
        return await client.request(case.method, case.url, content=content)
    return await client.request(case.method, case.url, json=body)


def assert_answer(r: httpx.Response, case: Case) -> None:
    assert r.status_code == case.status, r.text
    assert r.headers["content-type"].startswith("application/json"), r.text
    answer = r.json()
    assert isinstance(answer["message"], str), answer
    if case.where is None:
        assert case.says in answer["message"], answer
        assert "details" not in answer, answer
        return
    assert answer["message"] == HEADLINE[case.status], answer
    assert [d["path"] for d in answer["details"]] == [case.where], answer
    assert any(case.says in e for e in answer["details"][0]["errors"]), answer


async def assert_unchanged(server: Server) -> None:
    client = server.env.client
    assert (await client.get("/ping")).text == "pong"
    apps = (await client.get("/v2/apps")).json()["apps"]
    assert [a["id"] for a in apps] == ["/steady"]
    after = (await client.get("/v2/apps/steady")).json()["app"]
    for key in ("version", "versionInfo", "cmd", "cpus", "mem", "instances", "upgradeStrategy"):
        assert after[key] == server.steady[key], key
    assert {t["id"] for t in after["tasks"]} == server.tasks
    assert after["tasksRunning"] == 1
    root = (await client.get("/v2/groups")).json()
    assert root["groups"] == [] and [a["id"] for a in root["apps"]] == ["/steady"]
    assert (await client.get("/v2/deployments")).json() == []
    master = server.env.cluster.master
    assert master is not None
    async with httpx.AsyncClient() as c:
        assert (await c.get(f"http://{master.address}/health")).status_code == 200


@pytest.mark.parametrize("case", TABLE)
async def test_bad_request_gets_marathon_status_and_error_shape(server: Server, case: Case) -> None:
    assert_answer(await send(server.env.client, case), case)


async def test_bad_requests_change_nothing_and_every_server_keeps_serving(server: Server) -> None:
    [task] = server.tasks
    cases = [p.values[0] for p in TABLE]
    # with a real task id, the unknown one must still fail the whole request: nothing killed
    cases.append(Case("POST", "/v2/tasks/delete", {"ids": [task, "nope.2"]}, 400, None, ""))
    for case in cases:
        r = await send(server.env.client, case)
        assert r.status_code == case.status, (case, r.text)
    await assert_unchanged(server)


SLIPS_THROUGH = [
    put("version a number", {"version": 5}, 400, "/version", STRING),
    post("id of 2000 characters", app(id="a" * 2000), 422, "/id", "long"),
]


@pytest.mark.parametrize("case", SLIPS_THROUGH)
async def test_bad_request_on_a_fresh_server_is_refused_and_changes_nothing(
    tmp_path: Path, case: Case
) -> None:
    server = await start_server(tmp_path)
    try:
        assert_answer(await send(server.env.client, case), case)
        await assert_unchanged(server)
    finally:
        await stop_env(server.env)
