"""``POST /api/v1/executor``: the Mesos v1 executor HTTP API, as pymesos' executor uses it.

Follows ``docs/executor-http-api.md`` and ``src/slave/http.cpp`` (``Http::executor``):
SUBSCRIBE answers ``200`` with a chunked RecordIO stream starting with SUBSCRIBED
``{executor_info, framework_info (with id: pymesos asserts it), agent_info, container_id}``,
then LAUNCH / LAUNCH_GROUP for queued tasks, KILL, MESSAGE, SHUTDOWN and periodic HEARTBEATs.
UPDATE answers ``202``; the agent fills ``agent_id``/``executor_id``, records the update and
at once sends ACKNOWLEDGED ``{task_id, uuid}`` (the executor's uuid) down the stream
(``Slave::___statusUpdate``): from then on the agent owns delivery. Bad input is a plain-text
``400``/``406``/``413``/``415``, never a crash.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from roost.cluster.agent import custom_executor
from roost.cluster.agent.tasks import Executor, ExecutorState, ExecutorStream, value_of
from roost.core.http import HttpError, read_json
from roost.core.logs import kv
from roost.core.recordio import encode_json

if TYPE_CHECKING:
    from roost.cluster.agent.agent import Agent

log = logging.getLogger(__name__)

#: Mesos' agent heartbeats HTTP executors every 30 s (``DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL``).
HEARTBEAT_INTERVAL = 30.0
MAX_BODY = 16 * 1024 * 1024
CALL_TYPES = ("SUBSCRIBE", "UPDATE", "MESSAGE", "HEARTBEAT")
EXECUTOR_STATES = frozenset(
    {
        "TASK_STARTING",
        "TASK_RUNNING",
        "TASK_KILLING",
        "TASK_FINISHED",
        "TASK_FAILED",
        "TASK_KILLED",
        "TASK_ERROR",
        "TASK_LOST",
        "TASK_DROPPED",
        "TASK_GONE",
    }
)


async def handle(agent: Agent, request: Request) -> Response:
    """One executor call; every error is answered, none escapes."""
    try:
        accept = request.headers.get("accept", "*/*").lower()
        if not any(m in accept for m in ("application/json", "*/*", "application/*")):
            raise HttpError(406, "Expecting 'Accept' to allow application/json")
        call = await read_json(request, limit=MAX_BODY)
        ctype, ex = _validate(agent, call)
        if ctype == "SUBSCRIBE":
            return _subscribe(agent, ex, call)
        if ex.stream is None:
            raise HttpError(403, "Executor is not subscribed")
        if ctype == "UPDATE":
            _update(agent, ex, call)
        elif ctype == "MESSAGE":
            _message(agent, ex, call)
        return Response(status_code=202)
    except HttpError as e:
        return e.response()


def _validate(agent: Agent, call: Any) -> tuple[str, Executor]:
    if not isinstance(call, dict):
        raise HttpError(400, "Failed to validate executor::Call: expecting a JSON object")
    ctype = call.get("type")
    if ctype is None:
        raise HttpError(400, "Failed to validate executor::Call: Expecting 'type' to be present")
    if ctype not in CALL_TYPES:
        raise HttpError(400, f"Failed to validate executor::Call: unknown type {ctype!r}")
    fid, eid = value_of(call.get("framework_id")), value_of(call.get("executor_id"))
    if fid is None:
        raise HttpError(400, "Failed to validate executor::Call: Expecting 'framework_id'")
    if eid is None:
        raise HttpError(400, "Failed to validate executor::Call: Expecting 'executor_id'")
    if ctype != "HEARTBEAT" and not isinstance(call.get(ctype.lower()), dict):
        raise HttpError(400, f"Expecting '{ctype.lower()}' to be present")
    fw = agent.frameworks.get(fid)
    if fw is None:
        raise HttpError(400, f"Framework '{fid}' cannot be found")
    ex = fw.executors.get(eid)
    if ex is None or ex.command_task:
        raise HttpError(400, f"Executor '{eid}' of framework '{fid}' cannot be found")
    return ctype, ex


def _subscribe(agent: Agent, ex: Executor, call: dict[str, Any]) -> Response:
    if ex.state is ExecutorState.TERMINATED:
        raise HttpError(400, f"Executor '{ex.executor_id}' has terminated")
    sub = call["subscribe"]
    if not isinstance(sub, dict):
        raise HttpError(400, "Expecting 'subscribe' to be an object")
    unacked = sub.get("unacknowledged_updates") or []
    if not isinstance(unacked, list):
        raise HttpError(400, "'subscribe.unacknowledged_updates' must be a list")
    # Check everything before the old stream is replaced: a bad SUBSCRIBE changes nothing.
    resend = []
    for item in unacked:
        status = item.get("status") if isinstance(item, dict) else None
        if isinstance(status, dict):
            try:
                resend.append(_complete(agent, ex, status))
            except HttpError as e:
                log.warning("ignoring bad unacknowledged update", extra=kv(error=e.message))
    previous, stream = ex.stream, ExecutorStream()
    if previous is not None:
        previous.close()
    ex.stream = stream
    for status in resend:
        agent.record_update(ex.framework_id, status, ex)
    fw = agent.frameworks[ex.framework_id]
    agent_info = {
        "id": {"value": agent.agent_id or ""},
        "hostname": agent.hostname,
        "port": agent.port,
        "resources": agent.resources.to_json(),
        "attributes": agent.attributes,
    }
    subscribed = {
        "executor_info": ex.info,
        "framework_info": fw.info,
        "agent_info": agent_info,
        "container_id": {"value": ex.container_id},
    }
    stream.send({"type": "SUBSCRIBED", "subscribed": subscribed})
    for status in resend:  # recorded again: the executor may forget them
        ack = {"task_id": status["task_id"], "uuid": status["uuid"]}
        stream.send({"type": "ACKNOWLEDGED", "acknowledged": ack})
    if ex.state is ExecutorState.TERMINATING:
        stream.send({"type": "SHUTDOWN"})
    else:
        ex.state = ExecutorState.RUNNING
        custom_executor.deliver_queued(ex)
    log.info("executor subscribed", extra=kv(executor=ex.executor_id))
    return StreamingResponse(_events(agent, ex, stream), media_type="application/json")


async def _events(agent: Agent, ex: Executor, stream: ExecutorStream) -> AsyncIterator[bytes]:
    try:
        while True:
            try:  # asyncio.timeout, not wait_for: a cancellation is never swallowed
                async with asyncio.timeout(HEARTBEAT_INTERVAL):
                    event = await stream.next()
            except TimeoutError:
                event = {"type": "HEARTBEAT"}
            if event is None:
                return
            yield encode_json(event)
    finally:
        if ex.stream is stream:
            ex.stream = None
            stream.close()
            if not agent.closing and ex.state is ExecutorState.RUNNING:
                # Mesos shuts down a disconnected executor of a non-checkpointing framework.
                log.warning("executor disconnected", extra=kv(executor=ex.executor_id))
                custom_executor.shutdown(agent, ex)


def _complete(agent: Agent, ex: Executor, status: Any) -> dict[str, Any]:
    """Validate an executor's TaskStatus and fill what the agent adds (``createStatusUpdate``)."""
    if not isinstance(status, dict):
        raise HttpError(400, "Expecting 'update.status' to be present")
    task_id = value_of(status.get("task_id"))
    if task_id is None:
        raise HttpError(400, "Expecting 'update.status.task_id' to be present")
    if ex.find(task_id) is None and task_id not in {t.task_id for t in ex.completed}:
        # An executor reports only on its own tasks (Mesos drops the others).
        raise HttpError(400, f"Task '{task_id[:64]}' is not a task of executor '{ex.executor_id}'")
    state = status.get("state")
    if state not in EXECUTOR_STATES:
        raise HttpError(400, f"Invalid 'update.status.state' {state!r} for an executor")
    uuid = status.get("uuid")
    if not isinstance(uuid, str):
        raise HttpError(400, "Expecting 'update.status.uuid' to be present")
    try:
        if len(base64.b64decode(uuid, validate=True)) != 16:
            raise ValueError
    except (binascii.Error, ValueError):
        raise HttpError(400, "'update.status.uuid' must be 16 bytes, base64 encoded") from None
    out = dict(status)
    # The agent, not the executor, says which agent and executor an update comes from.
    out["agent_id"] = {"value": agent.agent_id or ""}
    out["executor_id"] = {"value": ex.executor_id}
    out.setdefault("source", "SOURCE_EXECUTOR")
    out.setdefault("timestamp", agent.clock.time())
    out.setdefault("container_status", {"container_id": {"value": ex.container_id}})
    return out


def _update(agent: Agent, ex: Executor, call: dict[str, Any]) -> None:
    status = _complete(agent, ex, call["update"].get("status"))
    agent.record_update(ex.framework_id, status, ex)
    if ex.stream is not None:
        ack = {"task_id": status["task_id"], "uuid": status["uuid"]}
        ex.stream.send({"type": "ACKNOWLEDGED", "acknowledged": ack})


def _message(agent: Agent, ex: Executor, call: dict[str, Any]) -> None:
    data = call["message"].get("data")
    if not isinstance(data, str):
        raise HttpError(400, "Expecting 'message.data' to be present")
    if agent.link is not None:
        fid, eid = {"value": ex.framework_id}, {"value": ex.executor_id}
        agent.link.send("MESSAGE", {"framework_id": fid, "executor_id": eid, "data": data})
